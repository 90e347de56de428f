"""The one stylesheet of the report and the dashboard: inline in every page, nothing fetched."""

from __future__ import annotations

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;max-width:1100px;
margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td.num{text-align:right}
code,.hash{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}.muted{color:#6b7280}
.banner{padding:1rem;border-radius:6px;font-weight:600;margin:1rem 0}.ok{background:#dcfce7;color:#14532d}
.bad{background:#fee2e2;color:#7f1d1d;border:3px solid #b91c1c;font-size:1.2rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.6rem}
.tile{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:.6rem}
.tile b{display:block;font-size:1.3rem}.chart svg{max-width:100%;height:auto}
nav{display:flex;gap:1rem;align-items:center;justify-content:space-between}nav form{margin:0}
button,input{font:inherit;padding:.35rem .6rem}.error{color:#991b1b}td a{word-break:break-all}
@media print{body{margin:0}.chart{break-inside:avoid}}
"""
