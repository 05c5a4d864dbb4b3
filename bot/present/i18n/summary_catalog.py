"""Strings of the weekly summary. Merged into the catalog by `bot/present/i18n/catalog.py`."""

from __future__ import annotations

SUMMARY: dict[str, dict[str, str]] = {
    "summary.title": {
        "en": "Weekly summary: {team}, {week}",
        "ja": "週次サマリー：{team}（{week}）",
    },
    "summary.range": {
        "en": "{start} to {end} ({tz}) · as of {as_of}",
        "ja": "{start}〜{end}（{tz}）・{as_of} 時点",
    },
    "summary.ignore_rate": {"en": "Ignore rate", "ja": "無視率"},
    "summary.sal_rate": {"en": "SAL rate", "ja": "SAL率"},
    "summary.breach_rate": {"en": "SLA breach rate", "ja": "SLA違反率"},
    "summary.median": {"en": "Median first response", "ja": "初回対応までの時間（中央値）"},
    "summary.change": {
        "en": "{arrow} {delta} pts vs {week} ({previous}), {verdict}",
        "ja": "{arrow} {week}比 {delta}ポイント（{week}：{previous}）、{verdict}",
    },
    "summary.good": {"en": "better", "ja": "改善"},
    "summary.bad": {"en": "worse", "ja": "悪化"},
    "summary.neutral": {"en": "no change", "ja": "横ばい"},
    "summary.no_comparison": {
        "en": "{week}: no leads to count, nothing to compare with",
        "ja": "{week}：集計対象のリードがなく比較できません",
    },
    "summary.pending": {
        "en": "{n} pending (still inside their SLA, not counted yet)",
        "ja": "期限内 {n} 件（まだ集計に含めていません）",
    },
    "summary.counts": {
        "en": "Handed off {handed_off} · counted {counted} · ignored {ignored} · "
        "actioned {actioned} · late {late} · excluded {excluded} · pending {pending}",
        "ja": "受け渡し {handed_off} 件・集計対象 {counted} 件・未対応 {ignored} 件・"
        "対応済 {actioned} 件・遅延 {late} 件・除外 {excluded} 件・期限内 {pending} 件",
    },
    "summary.by_rep": {"en": "By rep", "ja": "担当者別"},
    "summary.no_reps": {
        "en": "No leads were handed off this week.",
        "ja": "この週に受け渡されたリードはありません。",
    },
    "summary.top_sources": {
        "en": "Sources with the highest ignore rate",
        "ja": "無視率の高い流入元",
    },
    "summary.source_row": {
        "en": "{rank}. {source}: {rate} ({ignored} of {counted} ignored)",
        "ja": "{rank}. {source}：{rate}（集計対象 {counted} 件中 未対応 {ignored} 件）",
    },
    "summary.no_sources": {
        "en": "No source had leads to count.",
        "ja": "集計対象のリードがある流入元はありません。",
    },
    "summary.chart_follows": {
        "en": "The 8-week trend of the ignore and SAL rates follows as a chart.",
        "ja": "直近8週間の無視率とSAL率の推移をグラフでお送りします。",
    },
    "summary.chart_title": {
        "en": "{team}: ignore rate and SAL rate, 8 weeks to {week}",
        "ja": "{team}：{week}までの8週間の無視率とSAL率",
    },
    "summary.headline": {
        "en": "ignore rate {ignore}, SAL rate {sal}, {pending} pending",
        "ja": "無視率 {ignore}、SAL率 {sal}、期限内 {pending} 件",
    },
    "summary.headline_no_leads": {
        "en": "no leads to count, {pending} pending",
        "ja": "集計対象のリードなし、期限内 {pending} 件",
    },
}
