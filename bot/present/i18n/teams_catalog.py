"""Strings of the Microsoft Teams cards. Merged into the catalog by `bot/present/i18n/catalog.py`.

Plain text only: Adaptive Cards show neither Slack's `:emoji:` codes nor its mrkdwn."""

from __future__ import annotations

TEAMS: dict[str, dict[str, str]] = {
    "teams.lead.title": {"en": "New lead for {team}", "ja": "{team} の新しいリード"},
    "teams.lead.unassigned_title": {
        "en": "New lead for {team}, no owner yet: who takes it?",
        "ja": "{team} の新しいリード（担当者未定）：どなたが対応しますか？",
    },
    "teams.lead.contacted": {
        "en": "✅ Contacted by {actor}, {how}, {after} after handoff, {sla}",
        "ja": "✅ {actor} が{how}で対応（受け渡しから {after}、{sla}）",
    },
    "teams.lead.rejected": {
        "en": "🚫 Rejected by {actor} ({reason}), {after} after handoff, {sla}",
        "ja": "🚫 {actor} が却下（{reason}）（受け渡しから {after}、{sla}）",
    },
    "teams.lead.excluded": {
        "en": "Excluded ({reason}): this lead is not counted",
        "ja": "除外（{reason}）：このリードは集計しません",
    },
    "teams.lead.someone": {"en": "someone", "ja": "誰か"},
    "teams.action.contacted": {"en": "Contacted…", "ja": "対応済み…"},
    "teams.action.reject_snooze": {"en": "Reject / Snooze…", "ja": "却下・延期…"},
    "teams.action.open": {"en": "Act on it…", "ja": "対応を記録…"},
    "teams.lead.link_note": {
        "en": "The buttons open a page where you confirm what you did.",
        "ja": "ボタンを押すと、対応内容を確認して記録するページが開きます。",
    },
    "teams.digest.reminder": {
        "en": "Reminder: {n} leads in {team} need a first touch",
        "ja": "リマインド：{team} で初回対応が必要なリードが {n} 件あります",
    },
    "teams.digest.escalation": {
        "en": "Escalation: {n} leads in {team} are past their SLA with no first touch",
        "ja": "エスカレーション：{team} で対応期限を過ぎた未対応のリードが {n} 件あります",
    },
    "teams.digest.both": {
        "en": "Reminders and escalations: {n} leads in {team} need a first touch",
        "ja": "リマインドとエスカレーション：{team} で初回対応が必要なリードが {n} 件あります",
    },
    "teams.digest.escalated_tag": {"en": "Escalated", "ja": "エスカレーション"},
    "teams.digest.reminder_tag": {"en": "Reminder", "ja": "リマインド"},
    "teams.digest.overdue": {
        "en": "{late} past the deadline ({due})",
        "ja": "期限（{due}）を {late} 超過",
    },
    "teams.digest.due_in": {"en": "due in {left} ({due})", "ja": "期限まで {left}（{due}）"},
    "teams.digest.held_by": {"en": "held by {owner}", "ja": "担当: {owner}"},
    "teams.digest.more": {"en": "…and {n} more.", "ja": "…ほか {n} 件。"},
    "teams.digest.footer": {
        "en": "A first call, email or rejection stops these reminders for that lead.",
        "ja": "電話・メール・却下のいずれかを記録すると、そのリードのリマインドは止まります。",
    },
    "teams.more": {"en": "…and {n} more", "ja": "…ほか {n} 件"},
    "teams.summary.counts": {
        "en": "Passed {handed_off} · counted {counted} · ignored {ignored} · "
        "actioned {actioned} ({late} late) · rejected {rejected} · excluded {excluded}",
        "ja": "受け渡し {handed_off}・集計対象 {counted}・未対応 {ignored}・"
        "対応済 {actioned}（うち遅延 {late}）・却下 {rejected}・除外 {excluded}",
    },
    "teams.summary.pending": {
        "en": "{n} pending (still inside their SLA, not counted yet)",
        "ja": "期限内の未確定 {n} 件（まだ集計していません）",
    },
    "teams.summary.by_rep": {"en": "By rep", "ja": "担当者別"},
    "teams.summary.top_sources": {"en": "Top sources", "ja": "主な流入元"},
    "teams.summary.chart_alt": {
        "en": "Ignore rate and SAL rate over the last weeks",
        "ja": "直近数週間の無視率とSAL率",
    },
    "teams.summary.no_reps": {"en": "No leads this week.", "ja": "今週のリードはありません。"},
}
