"""Write the two documents of the tables corpus beside this script.

    python eval/corpora/tables/make_tables.py

``city_budget.docx`` (python-docx) and ``transit_report.html`` (written by hand below) are
made-up but realistic reports whose answers sit in tables: a caption and a unit line above
each table, a header row with a spanning header (merged cells in Word, colspan in HTML), row
labels in the first column and a total row; the same row labels ("Parks and Recreation",
"Light Rail") appear in several tables, so a table's title decides which figure is meant.
The HTML also has rowspan headers and a definition list. Questions about them are in
eval/datasets/tables_check.jsonl, whose gold line numbers depend on this exact output: edit
the data here and the line numbers there must be taken again.

The output is the same on every run, byte for byte: the figures are fixed, totals are summed
(and checked against the prose that quotes them), and the .docx is re-zipped with fixed
timestamps and fixed document properties.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent

# -- City of Millbrook budget (Word) ------------------------------------------------------
DEPARTMENTS = ["Police", "Fire and Emergency Services", "Public Works", "Parks and Recreation",
               "Library", "Planning and Development", "General Administration"]

# General Fund expenditures, thousands of dollars: FY2022 actual, FY2023 actual, FY2024 adopted
SPENDING = {
    "Police": (41862, 43905, 46218),
    "Fire and Emergency Services": (33417, 35086, 36940),
    "Public Works": (18254, 19730, 20415),
    "Parks and Recreation": (9876, 10342, 11087),
    "Library": (4215, 4512, 4693),
    "Planning and Development": (5630, 5904, 6121),
    "General Administration": (12388, 12951, 13460),
}

# FY2024 capital improvement program, thousands of dollars: bonds, grants, pay-as-you-go cash
CAPITAL = {
    "Public Works": (14200, 6850, 1975),
    "Parks and Recreation": (3400, 1120, 860),
    "Library": (2750, 0, 415),
    "Fire and Emergency Services": (4100, 950, 300),
    "Police": (1200, 480, 655),
}

# authorized full-time equivalent positions: FY2022, FY2023, FY2024
POSITIONS = {
    "Police": ("312.0", "318.0", "326.5"),
    "Fire and Emergency Services": ("221.0", "224.0", "230.0"),
    "Public Works": ("148.5", "151.0", "152.0"),
    "Parks and Recreation": ("86.0", "88.5", "92.0"),
    "Library": ("41.5", "42.0", "42.0"),
    "Planning and Development": ("38.0", "39.5", "40.0"),
    "General Administration": ("97.0", "98.0", "99.5"),
}


def money(value: int) -> str:
    """A figure in thousands as printed: "4,512"; a zero is a dash."""
    return f"{value:,}" if value else "\u2014"


def budget_paragraphs() -> dict[str, str]:
    total = [sum(SPENDING[d][i] for d in DEPARTMENTS) for i in range(3)]
    growth = Decimal(total[2] * 100) / Decimal(total[1]) - 100
    safety = SPENDING["Police"][2] + SPENDING["Fire and Emergency Services"][2]
    capital = sum(sum(v) for v in CAPITAL.values())
    bonds = sum(v[0] for v in CAPITAL.values())
    fte = [sum(Decimal(POSITIONS[d][i]) for d in DEPARTMENTS) for i in range(3)]
    # the prose quotes these figures: keep it in step with the tables
    assert (total[1], total[2]) == (132430, 138934), total
    assert f"{growth:.1f}" == "4.9" and f"{Decimal(safety * 100) / total[2]:.1f}" == "59.9"
    assert (capital, bonds) == (39255, 25650) and fte[1:] == [Decimal("961.0"), Decimal("982.0")]
    return {
        "intro": (
            "This summary accompanies the budget adopted by the Millbrook City Council on "
            "June 13, 2023, for the fiscal year that began July 1, 2023. It reports General "
            "Fund spending by department, the capital improvement program and authorized "
            "staffing, with two prior years for comparison."),
        "general": (
            "The adopted General Fund budget for fiscal year 2024 totals $138.9 million, an "
            "increase of 4.9 percent over fiscal year 2023 actual spending of $132.4 million. "
            "Public safety, the Police and Fire and Emergency Services departments together, "
            "accounts for 59.9 percent of the adopted General Fund. The increase reflects the "
            "second year of the three-year public safety labor agreement, higher fuel and "
            "utility costs, and extended weekend hours at the city's three recreation centers."),
        "revenue": (
            "The property tax rate is unchanged at $0.6825 per $100 of assessed value. Sales "
            "tax receipts are projected to grow 3.1 percent, and the unassigned General Fund "
            "balance is expected to remain above the council's policy minimum of 17 percent "
            "of expenditures."),
        "capital": (
            "The capital improvement program for fiscal year 2024 totals $39.3 million, of "
            "which $25.7 million is financed by general obligation bonds approved by voters "
            "in November 2022. The largest projects are the resurfacing of Harlan Avenue and "
            "the replacement of the Eastside fire station; the parks program funds a new "
            "splash pad at Cooper Park and lighting for the Mill Creek trail."),
        "staff": (
            "Authorized staffing rises to 982.0 full-time equivalent positions, 21.0 more "
            "than in fiscal year 2023. Most new positions are patrol officers, firefighter "
            "paramedics for the rebuilt Eastside station, and seasonal recreation staff "
            "converted to permanent part-time roles."),
        "note": (
            "Figures for fiscal years 2022 and 2023 are audited actuals; fiscal year 2024 "
            "figures are as adopted and do not include amendments made during the year. "
            "Totals may not add because of rounding."),
    }


def write_budget(path: Path) -> None:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    text = budget_paragraphs()
    doc = Document()
    props = doc.core_properties
    props.title = "City of Millbrook Adopted Budget Summary, Fiscal Year 2024"
    props.author = props.last_modified_by = "Millbrook Office of Budget and Management"
    props.created = props.modified = dt.datetime(2023, 6, 20, 9, 0, 0)
    props.revision = 1

    def caption(title: str, unit: str) -> None:
        doc.add_paragraph(title, style="Caption")
        doc.add_paragraph().add_run(unit).italic = True

    def table(header: list[list[str]], body: list[list[str]], total: list[str],
              spans: list[tuple[int, int, int, int]]):
        """Header rows (a spanned cell's text in its first cell), body rows, the total row;
        ``spans``: (row, col, row, col) corners of header cells to merge."""
        rows = [*header, *body, total]
        t = doc.add_table(rows=len(rows), cols=len(rows[0]))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if value:
                    t.cell(r, c).text = value
        for r0, c0, r1, c1 in spans:
            t.cell(r0, c0).merge(t.cell(r1, c1))
        for r, row in enumerate(t.rows):
            for c, cell in enumerate(row.cells):
                for p in cell.paragraphs:
                    if c and r >= len(header):
                        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                    for run in p.runs:
                        run.bold = r < len(header) or r == len(rows) - 1
        return t

    doc.add_heading("City of Millbrook Adopted Budget Summary, Fiscal Year 2024", level=0)
    doc.add_paragraph(text["intro"])
    doc.add_heading("General Fund", level=1)
    doc.add_paragraph(text["general"])
    doc.add_paragraph(text["revenue"])

    caption("Table 1. General Fund Expenditures by Department",
            "(in thousands of dollars)")
    total = [sum(SPENDING[d][i] for d in DEPARTMENTS) for i in range(3)]
    table([["Department", "Fiscal Year", "", ""],
           ["", "2022 Actual", "2023 Actual", "2024 Adopted"]],
          [[d, *map(money, SPENDING[d])] for d in DEPARTMENTS],
          ["Total General Fund", *map(money, total)],
          [(0, 0, 1, 0), (0, 1, 0, 3)])

    doc.add_heading("Capital Improvement Program", level=1)
    doc.add_paragraph(text["capital"])
    caption("Table 2. Capital Improvement Program by Department and Funding Source, "
            "Fiscal Year 2024", "(in thousands of dollars)")
    sources = [sum(v[i] for v in CAPITAL.values()) for i in range(3)]
    table([["Department", "Funding Source", "", "", "Total"],
           ["", "Bonds", "State and Federal Grants", "Pay-as-you-go Cash", ""]],
          [[d, *map(money, v), money(sum(v))] for d, v in CAPITAL.items()],
          ["Total Capital Program", *map(money, sources), money(sum(sources))],
          [(0, 0, 1, 0), (0, 1, 0, 3), (0, 4, 1, 4)])

    doc.add_heading("Staffing", level=1)
    doc.add_paragraph(text["staff"])
    caption("Table 3. Authorized Full-Time Equivalent Positions by Department",
            "(full-time equivalents, FTE)")
    fte = [sum(Decimal(POSITIONS[d][i]) for d in DEPARTMENTS) for i in range(3)]
    change = {d: Decimal(POSITIONS[d][2]) - Decimal(POSITIONS[d][1]) for d in DEPARTMENTS}
    table([["Department", "Fiscal Year", "", "", "Change 2023 to 2024"],
           ["", "2022", "2023", "2024", ""]],
          [[d, *POSITIONS[d], f"{change[d]:+.1f}" if change[d] else "0.0"]
           for d in DEPARTMENTS],
          ["Total Positions", *(f"{v:.1f}" for v in fte), f"{fte[2] - fte[1]:+.1f}"],
          [(0, 0, 1, 0), (0, 1, 0, 3), (0, 4, 1, 4)])

    doc.add_paragraph(text["note"])

    buffer = io.BytesIO()
    doc.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(raw: bytes) -> bytes:
    """The same archive with every member dated 2023-06-20, so the bytes do not vary."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=(2023, 6, 20, 9, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


# -- Cedar Valley transit report (HTML) ---------------------------------------------------
MODES = ["Bus", "Light Rail", "Commuter Rail", "Paratransit"]

# average daily riders and scheduled one-way trips, 2023: weekday riders, trips, weekend same
DAILY = {
    "Bus": (48320, 2915, 21640, 1688),
    "Light Rail": (22175, 412, 11930, 296),
    "Commuter Rail": (6840, 58, 1215, 16),
    "Paratransit": (1460, 1102, 385, 297),
}

# annual boardings, millions: 2021, 2022, 2023
BOARDINGS = {
    "Bus": ("11.42", "13.87", "15.06"),
    "Light Rail": ("5.10", "6.34", "7.02"),
    "Commuter Rail": ("0.98", "1.47", "1.85"),
    "Paratransit": ("0.41", "0.44", "0.47"),
}

# on-time performance, percent: Q1, Q2, Q3, Q4, year (the year as reported, trip-weighted)
ON_TIME = {
    "Bus": ("84.6", "82.9", "80.7", "83.5", "82.9"),
    "Light Rail": ("93.1", "92.4", "90.8", "92.0", "92.1"),
    "Commuter Rail": ("95.4", "94.8", "93.6", "94.1", "94.5"),
    "Paratransit": ("88.2", "87.5", "86.9", "89.0", "87.9"),
    "System-wide": ("87.3", "86.1", "84.5", "86.7", "86.2"),
}

FARES = [
    ("Base adult fare", "$2.25"),
    ("Reduced fare (seniors, youth and riders with disabilities)", "$1.10"),
    ("31-day unlimited pass", "$80.00"),
    ("Farebox recovery ratio, 2023", "21.4%"),
    ("Active revenue fleet", "412 vehicles"),
    ("Routes in service", "57"),
]


def _row(label: str, cells: list[str], tag: str = "td") -> str:
    return (f'      <tr>\n        <th scope="row">{label}</th>\n'
            + "".join(f"        <{tag}>{c}</{tag}>\n" for c in cells) + "      </tr>\n")


def transit_html() -> str:
    weekday = sum(DAILY[m][0] for m in MODES)
    total_2022 = sum(Decimal(BOARDINGS[m][1]) for m in MODES)
    total_2023 = sum(Decimal(BOARDINGS[m][2]) for m in MODES)
    growth = total_2023 * 100 / total_2022 - 100
    # the prose quotes these figures: keep it in step with the tables
    assert (f"{total_2022}", f"{total_2023}", f"{growth:.1f}") == ("22.12", "24.40", "10.3")
    assert weekday == 78795, weekday

    daily_rows = "".join(_row(m, [f"{v:,}" for v in DAILY[m]]) for m in MODES)
    daily_total = [f"{sum(DAILY[m][i] for m in MODES):,}" for i in range(4)]
    boarding_rows = "".join(_row(m, list(BOARDINGS[m])) for m in MODES)
    boarding_total = [f"{sum(Decimal(BOARDINGS[m][i]) for m in MODES)}" for i in range(3)]

    def on_time(label: str, group: str = "") -> str:
        cells = "".join(f"        <td>{c}</td>\n" for c in ON_TIME[label])
        return f"      <tr>\n{group}        <th scope=\"row\">{label}</th>\n{cells}      </tr>\n"

    fixed = '        <th scope="rowgroup" rowspan="3">Fixed route</th>\n'
    demand = '        <th scope="rowgroup">Demand response</th>\n'
    on_time_rows = (on_time("Bus", fixed) + on_time("Light Rail") + on_time("Commuter Rail")
                    + on_time("Paratransit", demand))
    system = "".join(f"        <td>{c}</td>\n" for c in ON_TIME["System-wide"])
    fares = "".join(f"      <dt>{k}</dt>\n      <dd>{v}</dd>\n" for k, v in FARES)

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>2023 Annual Ridership Report | Cedar Valley Regional Transit</title>
  <style>
    table {{ border-collapse: collapse; margin: 1em 0; }}
    th, td {{ border: 1px solid #999; padding: 0.25em 0.6em; }}
    td {{ text-align: right; }}
    caption {{ font-weight: bold; text-align: left; }}
    .unit {{ font-style: italic; }}
  </style>
</head>
<body>
  <header>
    <p>Cedar Valley Regional Transit</p>
    <nav>
      <ul>
        <li><a href="/">Home</a></li>
        <li><a href="/schedules">Schedules</a></li>
        <li><a href="/fares">Fares</a></li>
        <li><a href="/reports">Reports</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <h1>2023 Annual Ridership Report</h1>
    <p>Cedar Valley Regional Transit carried 24.40 million boardings in calendar year 2023,
      up 10.3 percent from 22.12 million in 2022, as ridership continued to recover and
      the Route 9 bus rapid transit line completed its first full year of service. On an
      average weekday the system carried 78,795 riders.</p>
    <p>This report gives average daily ridership and scheduled trips by mode, annual
      boardings for the last three years, and on-time performance by quarter. Ridership is
      counted from automatic passenger counters on buses and light rail vehicles and from
      ticket validations on commuter rail; paratransit figures are completed trips.</p>

    <section>
      <h2>Daily ridership</h2>
      <p>Weekend service was expanded in September 2023, when Sunday light rail service
        began at 6 a.m. instead of 8 a.m. and four bus routes gained Sunday service.</p>
      <table>
        <caption>Table 1. Average Daily Ridership and Scheduled Trips by Mode, 2023</caption>
        <thead>
          <tr><td colspan="5" class="unit">(riders and scheduled one-way trips per day)</td></tr>
          <tr>
            <th scope="col" rowspan="2">Mode</th>
            <th scope="colgroup" colspan="2">Weekday</th>
            <th scope="colgroup" colspan="2">Weekend</th>
          </tr>
          <tr>
            <th scope="col">Riders</th>
            <th scope="col">Trips</th>
            <th scope="col">Riders</th>
            <th scope="col">Trips</th>
          </tr>
        </thead>
        <tbody>
{daily_rows}        </tbody>
        <tfoot>
{_row("Total", daily_total)}        </tfoot>
      </table>
    </section>

    <section>
      <h2>Annual boardings</h2>
      <p>Commuter rail grew fastest in 2023 as employers in the downtown core brought staff
        back to the office three days a week; paratransit demand grew more slowly.</p>
      <table>
        <caption>Table 2. Annual Boardings by Mode</caption>
        <thead>
          <tr><td colspan="4" class="unit">(millions)</td></tr>
          <tr>
            <th scope="col" rowspan="2">Mode</th>
            <th scope="colgroup" colspan="3">Calendar Year</th>
          </tr>
          <tr>
            <th scope="col">2021</th>
            <th scope="col">2022</th>
            <th scope="col">2023</th>
          </tr>
        </thead>
        <tbody>
{boarding_rows}        </tbody>
        <tfoot>
{_row("Total", boarding_total)}        </tfoot>
      </table>
    </section>

    <section>
      <h2>On-time performance</h2>
      <p>A trip is on time when it departs its timepoints no more than one minute early and
        no more than five minutes late; a paratransit trip is on time when the vehicle arrives
        within its 30-minute pickup window. Summer track work on the light rail line lowered
        third-quarter results.</p>
      <p class="unit">Table 3 figures are percentages of trips on time (%).</p>
      <table>
        <caption>Table 3. On-Time Performance by Mode and Quarter, 2023</caption>
        <thead>
          <tr>
            <th scope="col" colspan="2" rowspan="2">Service</th>
            <th scope="colgroup" colspan="4">Quarter</th>
            <th scope="col" rowspan="2">Full Year</th>
          </tr>
          <tr>
            <th scope="col">Q1</th>
            <th scope="col">Q2</th>
            <th scope="col">Q3</th>
            <th scope="col">Q4</th>
          </tr>
        </thead>
        <tbody>
{on_time_rows}        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colspan="2">System-wide</th>
{system}          </tr>
        </tfoot>
      </table>
    </section>

    <section>
      <h2>Fares and fleet at a glance</h2>
      <p>Fares were last changed on January 1, 2022.</p>
      <dl>
{fares}      </dl>
    </section>
  </main>
  <footer>
    <p>Cedar Valley Regional Transit, 400 Depot Street. Contact the planning office for
      route-level data.</p>
  </footer>
</body>
</html>
"""


def main() -> None:
    write_budget(HERE / "city_budget.docx")
    (HERE / "transit_report.html").write_text(transit_html(), encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
