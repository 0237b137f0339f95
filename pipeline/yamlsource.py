"""YAML → plain Python data, remembering the line of every node.

PyYAML's node marks give each value's line, so a problem found later (by pydantic or by a
cross-check) can be reported at the line the clerk must edit. Aliases are refused outright:
our files never need them and they are how a "billion laughs" file blows up memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import DataError, Problem
from .textfile import display_path, read_text

MAX_DEPTH = 40

Loc = tuple[Any, ...]


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "不支持 YAML 别名（*引用），请直接写出内容", event.start_mark)
        return super().compose_node(parent, index)


class Located:
    """Data loaded from one YAML file, with a line for every location inside it."""

    def __init__(self, name: str, data: Any, lines: dict[Loc, int]):
        self.name = name
        self.data = data
        self._lines = lines

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that exists."""
        loc = tuple(loc)
        while loc:
            if loc in self._lines:
                return self._lines[loc]
            loc = loc[:-1]
        return self._lines.get((), None)

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.name, self.line(loc), message)


def _build(loader: yaml.SafeLoader, node, loc: Loc, lines: dict, name: str, depth: int):
    if depth > MAX_DEPTH:
        raise DataError(Problem(name, node.start_mark.line + 1,
                                f"嵌套层次过深（超过 {MAX_DEPTH} 层），请检查文件结构"))
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise DataError(Problem(name, key_node.start_mark.line + 1, "字段名应为文字"))
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float)):
                key = str(key)
            if key in result:
                raise DataError(Problem(name, key_node.start_mark.line + 1,
                                        f"字段“{key}”重复出现，请删除其中一个"))
            result[key] = _build(loader, value_node, loc + (key,), lines, name, depth + 1)
        return result
    if isinstance(node, SequenceNode):
        return [_build(loader, item, loc + (i,), lines, name, depth + 1)
                for i, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)
    return value


_FAST = getattr(yaml, "CSafeLoader", None)  # libyaml's parser, when PyYAML was built with it


def _fast_loader(text: str):
    """A loader holding the text's node tree parsed by libyaml (some 15× faster than PyYAML's
    own parser: 0.06 s less per process for the content and the layout), or None: the text is
    then read by PyYAML's own parser, whose refusals (a character, an alias, too deep, any
    error) are the ones the clerk is shown. libyaml's events are read first, one by one, to see
    the depth and any alias: its composer recurses in C, and does not refuse aliases."""
    if _FAST is None or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_FAST):
            if isinstance(event, AliasEvent):
                return None
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                depth -= 1
        loader = _FAST(text)
        try:
            node = loader.get_single_node()  # the one document (none: PyYAML's parser says so)
        except BaseException:
            loader.dispose()
            raise
        if node is not None:
            return loader, node
        loader.dispose()
    except yaml.YAMLError:
        pass
    return None


def load_yaml(path: Path) -> Located:
    name = display_path(path)
    text = read_text(path)
    if not text.strip():
        raise DataError(Problem(name, None, "文件为空，请填写内容"))
    fast = _fast_loader(text)
    if fast is not None:
        loader, node = fast
        try:
            lines: dict[Loc, int] = {}
            return Located(name, _build(loader, node, (), lines, name, 0), lines)
        except yaml.YAMLError:  # a value refused as it is made: said as PyYAML's parser says it
            pass
        finally:
            loader.dispose()
    try:
        loader = _NoAliasLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses a character before any parsing
        character = getattr(exc, "character", None)
        position = getattr(exc, "position", None)
        code = f" U+{character:04X}" if isinstance(character, int) else (
            f" U+{ord(character):04X}" if isinstance(character, str) and character else "")
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        raise DataError(Problem(name, line, f"含有 YAML 不允许的字符{code}，请删除后重试")) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise DataError(Problem(name, None, "文件中只有注释，没有数据，请填写内容"))
        lines: dict[Loc, int] = {}
        data = _build(loader, node, (), lines, name, 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataError(Problem(name, line, f"YAML 格式错误：{_yaml_reason(exc)}")) from None
    except yaml.YAMLError as exc:
        raise DataError(Problem(name, None, f"YAML 格式错误：{exc}")) from None
    except RecursionError:
        raise DataError(Problem(name, None, "嵌套层次过深，请检查文件结构")) from None
    finally:
        loader.dispose()
    return Located(name, data, lines)


_REASONS = {
    "mapping values are not allowed here": "此处不能出现冒号“: ”，含冒号的文字请加引号",
    "could not find expected ':'": "缺少冒号“:”，或缩进不一致",
    "found character '\\t' that cannot start any token": "不能用制表符（Tab）缩进，请改用空格",
    "did not find expected key": "缩进不一致，或缺少“- ”",
    "found undefined alias": "不支持 YAML 别名（*引用）",
    "did not find expected '-' indicator": "列表缩进不一致",
    "expected <block end>": "缩进不一致，请检查本行与上一行的对齐",
    "expected ',' or ']'": "方括号“[ ]”未闭合",
    "expected ',' or '}'": "花括号“{ }”未闭合",
    "found unexpected end of stream": "文件意外结束（引号或括号未闭合）",
}


def _yaml_reason(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or ""
    for english, chinese in _REASONS.items():
        if problem.startswith(english):
            return chinese
    if problem.startswith("不支持"):
        return problem
    if "found unknown escape character" in problem:
        return "双引号内有无法识别的反斜杠转义，请删除“\\”或改用单引号"
    return f"无法解析（{problem}），请检查缩进、引号和冒号"
