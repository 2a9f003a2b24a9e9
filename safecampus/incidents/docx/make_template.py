"""Builds report.docx, the Word template of an incident's report (docxtpl tags), in the
layout a Chinese office submits (党政机关公文格式, GB/T 9704 in outline): A4, the title
centred in 22 pt (二号) 宋体 bold, the addressee flush left, numbered sections 一、二、…
in 黑体 16 pt (三号), the text in 仿宋 16 pt with a two-character indent, the issuing unit
and the date right-aligned at the end.

Run it again after changing it (`.venv/bin/python safecampus/incidents/docx/make_template.py`);
the .docx it writes is committed beside it and read by incidents.export."""

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

HERE = Path(__file__).resolve().parent


def _font(run, name: str, size: float, bold: bool = False) -> None:  # noqa: ANN001
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.rPr.rFonts.set(qn("w:eastAsia"), name)  # noqa: SLF001 (Chinese fonts)


def _para(
    doc,
    text: str,
    font: str = "仿宋",
    size: float = 16,
    *,
    bold: bool = False,  # noqa: ANN001
    align=None,
    indent: bool = False,
) -> None:  # noqa: ANN001
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.line_spacing = Pt(28)
    fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    _font(p.add_run(text), font, size, bold)


def build() -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    _para(doc, "{{ title }}", "宋体", 22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "")
    _para(doc, "{{ addressee }}：")
    _para(doc, "{{ opening }}", indent=True)
    _para(doc, "{%p for s in sections %}")
    _para(doc, "{{ s.heading }}", "黑体", 16, indent=True)
    _para(doc, "{%p for line in s.lines %}")
    _para(doc, "{{ line }}", indent=True)
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endfor %}")
    _para(doc, "")
    _para(doc, "{{ unit }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, "{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    path = HERE / "report.docx"
    doc.save(path)
    return path


if __name__ == "__main__":
    print(build())
