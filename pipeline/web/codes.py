"""The printable list of the regions' one-time sign-in codes (PDF, one region per line with the
sign-in address), for the clerk to send through the usual channel. Made only when the codes are
made: they are kept nowhere else (the database holds their hashes)."""

from __future__ import annotations

from html import escape

from ..layout import font_paths, load_layout


def codes_pdf(content, created: list, url: str) -> bytes:
    """``created``: (region, code) pairs, in the regions' order."""
    from weasyprint import HTML

    fonts = font_paths(load_layout())
    faces = "".join(f"@font-face {{ font-family: '{role}'; src: url('{path.as_uri()}'); }}"
                    for role, path in fonts.items() if role in ("title", "fang", "hei", "song"))
    year = content.tasks.year
    rows = "".join(
        f"<tr><td class='n'>{i}</td><td>{escape(region.parent or '')}</td><td>{escape(region.name)}</td>"
        f"<td class='code'>{escape(region.name)}</td><td class='code'>{escape(code)}</td></tr>"
        for i, (region, code) in enumerate(created, start=1))
    html = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>
    {faces}
    @page {{ size: A4; margin: 20mm 18mm 18mm; @bottom-center {{ content: "第 " counter(page) " 页 共 " counter(pages) " 页";
      font-family: 'song'; font-size: 9pt; }} }}
    body {{ font-family: 'fang', 'song'; font-size: 12pt; }}
    h1 {{ font-family: 'title'; font-size: 18pt; text-align: center; margin: 0 0 6mm; font-weight: normal; }}
    p {{ margin: 0 0 3mm; line-height: 1.5; }}
    table {{ width: 100%; border-collapse: collapse; }}
    th, td {{ border: 0.5pt solid #000; padding: 1.2mm 2mm; font-size: 11pt; }}
    th {{ font-family: 'hei'; font-weight: normal; }}
    td.n {{ text-align: center; width: 9mm; }}
    td.code {{ font-family: 'song'; letter-spacing: 0.5pt; white-space: nowrap; }}
    td, th {{ white-space: nowrap; }}
    .secret {{ font-family: 'hei'; }}
    </style></head><body>
    <h1>{year}年度民政工作目标责任制考评<br>各地区登录账号及一次性登录码</h1>
    <p>登录网址：<span class="code">{escape(url)}</span></p>
    <p>各地区以本地区名称为账号，用下表中的一次性登录码首次登录，登录后须立即设置新密码（至少 10 位，含大写字母、小写字母、数字、符号中的至少三种）。
    一次性登录码只能使用一次，请通过机要渠道分送，<span class="secret">不得通过互联网邮箱、即时通信工具传送</span>。</p>
    <table><thead><tr><th>序号</th><th>市（州）</th><th>地区</th><th>账号</th><th>一次性登录码</th></tr></thead>
    <tbody>{rows}</tbody></table>
    </body></html>"""
    return HTML(string=html).write_pdf()
