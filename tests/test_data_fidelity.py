"""The shipped task table against the source notice: every word, in order."""

from __future__ import annotations

import re

import pytest

from pipeline.content import load_content

from .conftest import FIXTURES

SEED = (FIXTURES / "seed_2016.txt").read_text(encoding="utf-8")
TARGETS = {"市（州）", "县（市）", "县（市、区）", "试点县（市、区）除外"}


def seed_table_lines() -> list[str]:
    lines = SEED.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("优秀\t达标")) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("　　注："))
    return lines[start:end]


def seed_units() -> tuple[list[tuple[int, str]], list[str]]:
    """(category number, name) pairs and the other cells, in reading order."""
    categories, units = [], []
    for line in seed_table_lines():
        fields = [f.strip(" \u3000") for f in line.split("\t")]
        if re.fullmatch(r"\d+", fields[0]):
            categories.append((int(fields[0]), fields[1]))
            fields = fields[2:]
        units += [f for f in fields if f]
    return categories, units


@pytest.fixture(scope="module")
def book():
    return load_content().tasks


def model_units(book) -> list[str]:
    units = []
    for task in book.tasks():
        units += [task.name, *task.excellent_lines, *task.standard_lines, *task.targets]
        if task.pilot_excluded:
            units.append("试点县（市、区）除外")
    return units


def test_counts(book):
    assert len(book.table.categories) == 20
    assert len(list(book.tasks())) == 44


def test_categories_once_each_in_source_order(book):
    categories, _ = seed_units()
    unique = list(dict.fromkeys(categories))  # 1, 14, 16 and 19 repeat across page breaks
    assert [(c.number, c.name) for c in book.table.categories] == unique


def test_every_cell_of_the_source_table_in_order(book):
    _, units = seed_units()
    assert model_units(book) == units


def test_every_criterion_line_appears_unchanged_in_yaml():
    """Each numbered source line (without its number) stands in the YAML, in order."""
    from .conftest import CONTENT
    yaml_text = (CONTENT / "tasks_2016.yaml").read_text(encoding="utf-8")
    position = 0
    for line in seed_table_lines():
        text = line.strip(" \u3000\t")
        match = re.match(r"\d+\.(?!\d)", text)
        if not match or text in TARGETS:
            continue
        criterion = text[match.end():]
        found = yaml_text.find(criterion, position)
        assert found >= 0, criterion
        position = found


def test_task_ids_follow_category_and_position(book):
    for category in book.table.categories:
        assert [t.id for t in category.tasks] == [
            f"{category.number}.{i}" for i in range(1, len(category.tasks) + 1)]


def test_notice_fields(book):
    notice = book.notice
    assert str(notice.document_number) == "吉民发〔2016〕13号"
    assert notice.title in SEED
    assert notice.addressees + "：" in SEED
    for paragraph in notice.body:
        assert paragraph in SEED
    assert notice.signature == "吉林省民政厅"
    assert f"{notice.date.year}年{notice.date.month}月{notice.date.day}日" in SEED
    assert book.table.title in SEED


def test_notes(book):
    notes_text = SEED[SEED.index("注："):]
    for i, note in enumerate(book.table.notes, 1):
        assert f"{i}.{note}" in notes_text
    assert len(book.table.notes) == 2


def test_labelled_criteria_stay_text(book):
    task = book.task("11.1")
    assert task.excellent_lines[0].startswith("有服务岗位：")
    assert task.standard_lines[-1].startswith("有实务服务：")
