"""What regulators ask of records of automated processing, and which part of the report answers it.

Sources checked 2026-12-04 against the published texts: Regulation (EU) 2024/1689 (AI Act) Art. 12;
Regulation (EU) 2016/679 (GDPR) Art. 30; Saudi Personal Data Protection Law (Royal Decree M/19 of
1443H, as amended) Art. 29; UAE Federal Decree-Law No. 45 of 2021 Arts. 22 and 23. These name what
the records support; whether a system is in scope of a law is for the reader's counsel, not the report.
"""

from __future__ import annotations

from polyroute.report.model import Section

SECTIONS: tuple[Section, ...] = (
    Section(
        id="eu-ai-act-art-12",
        title="Automatic recording of events (logs)",
        asks="High-risk AI systems must technically allow the automatic recording of events over their "
        "lifetime, for traceability: identifying risk situations, post-market monitoring and monitoring "
        "of operation (Art. 12(1)-(2)).",
        answered_by=["chain", "totals", "outcome_unknown", "mismatches"],
        source="Regulation (EU) 2024/1689 (AI Act), Article 12 'Record-keeping'",
        not_proven="That the system calling Polyroute is or is not high-risk, or that calls made around "
        "Polyroute (directly to a provider) were logged at all.",
    ),
    Section(
        id="gdpr-art-30",
        title="Records of processing activities",
        asks="A record of processing: purposes, categories of data, recipients, transfers to third "
        "countries, and a general description of security measures (Art. 30(1)(a)-(g), 30(2)).",
        answered_by=["processing", "rules", "principals", "chain"],
        source="Regulation (EU) 2016/679 (GDPR), Article 30 'Records of processing activities'",
        not_proven="The purpose and lawful basis of each call, or the categories of data subjects: the "
        "caller declares a data class, Polyroute does not inspect content for personal data.",
    ),
    Section(
        id="sa-pdpl-art-29",
        title="Transfers of personal data outside the Kingdom",
        asks="A controller may transfer personal data outside Saudi Arabia only for the listed purposes, "
        "without prejudice to national security, to adequate protection, and no more than needed "
        "(Art. 29(1)-(2)).",
        answered_by=["processing", "rules", "refusals", "mismatches"],
        source="Saudi Personal Data Protection Law, Article 29 (and the Regulation on Personal Data "
        "Transfer outside the Kingdom)",
        not_proven="That a transfer had a permitted purpose or met the minimum-data condition: the report "
        "shows where processing happened and under which rule, not why.",
    ),
    Section(
        id="ae-pdpl-art-22-23",
        title="Cross-border transfer and sharing of personal data",
        asks="Transfers outside the UAE to countries with adequate protection (Art. 22), and otherwise only "
        "in the listed cases such as contract, consent or cooperation (Art. 23).",
        answered_by=["processing", "rules", "refusals", "mismatches"],
        source="UAE Federal Decree-Law No. 45 of 2021 on the Protection of Personal Data, Articles 22 and 23",
        not_proven="Adequacy of the destination or the case under Art. 23 that applies: those are legal "
        "assessments encoded (or not) in the residency policy the report names.",
    ),
)

NOT_PROVEN: tuple[str, ...] = (
    "What the provider did with the data after answering (retention, training, sub-processors): the "
    "report shows where the provider says it processed the call, not what it kept.",
    "That the data class and jurisdiction a caller declared were right: calls are classified by the "
    "caller (a defaulted classification is marked in each receipt).",
    "That the log is complete beyond the latest signed head and the witness: events deleted together "
    "with every head after them, before any verification was witnessed, leave a valid shorter log.",
    "Teams are as configured when the report was made, not as they were at the time of each call.",
    "Provider invoices: costs are computed from the usage each provider reported and the bundled prices.",
)
