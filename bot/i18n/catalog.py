"""The message catalog. Keys are dotted names; every key has `en` and `ja`."""

from __future__ import annotations

CATALOG: dict[str, dict[str, str]] = {
    "report.title": {
        "en": "Ignore rate, {period} ({start} to {end}, {tz})",
        "ja": "無視率 {period}（{start}〜{end}、{tz}）",
    },
    "report.team": {"en": "Team: {team}", "ja": "チーム: {team}"},
    "report.all_teams": {"en": "All teams", "ja": "全チーム"},
    "report.as_of": {"en": "As of {as_of}", "ja": "{as_of} 時点"},
    "report.no_leads": {"en": "no leads to count", "ja": "集計対象のリードなし"},
    "report.pending_note": {
        "en": "{pending} pending (still inside their SLA, not counted yet)",
        "ja": "{pending} 件が対応期限内（まだ集計に含めていません）",
    },
    "report.totals": {"en": "Totals", "ja": "合計"},
    "report.by_rep": {"en": "By rep", "ja": "担当者別"},
    "report.by_source": {"en": "By source", "ja": "流入元別"},
    "report.unassigned": {"en": "(unassigned)", "ja": "（未割り当て）"},
    "col.handed_off": {"en": "passed", "ja": "受け渡し"},
    "col.excluded": {"en": "excluded", "ja": "除外"},
    "col.pending": {"en": "pending", "ja": "期限内"},
    "col.counted": {"en": "counted", "ja": "集計対象"},
    "col.ignored": {"en": "ignored", "ja": "未対応"},
    "col.actioned": {"en": "actioned", "ja": "対応済"},
    "col.on_time": {"en": "on time", "ja": "期限内対応"},
    "col.late": {"en": "late", "ja": "遅延"},
    "col.rejected": {"en": "rejected", "ja": "却下"},
    "col.ignore_rate": {"en": "ignore %", "ja": "無視率"},
    "col.sal_rate": {"en": "SAL %", "ja": "SAL率"},
    "col.sla_breach_rate": {"en": "SLA breach %", "ja": "SLA違反率"},
    "col.median_first_action_minutes": {"en": "median 1st touch", "ja": "初回対応中央値"},
    "col.rep": {"en": "rep", "ja": "担当者"},
    "col.source": {"en": "source", "ja": "流入元"},
    "duration.minutes": {"en": "{n} min", "ja": "{n}分"},
    "duration.hours": {"en": "{n} h", "ja": "{n}時間"},
    "period.error": {
        "en": 'I can\'t read the period "{text}"{detail}. Accepted forms: {forms}',
        "ja": "期間「{text}」を読み取れません{detail}。使える形式: {forms}",
    },
}
