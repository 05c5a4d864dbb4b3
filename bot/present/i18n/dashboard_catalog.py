"""The dashboard's pages (`bot/web/dashboard.py`): the overview, a team, the leads, a
lead, and "why it moved"."""

from __future__ import annotations

DASHBOARD: dict[str, dict[str, str]] = {
    # the frame
    "dash.nav": {"en": "Dashboard", "ja": "ダッシュボード"},
    "dash.overview": {"en": "Overview", "ja": "概要"},
    "dash.leads": {"en": "Leads", "ja": "リード"},
    "dash.language": {"en": "Language", "ja": "言語"},
    "dash.language_name": {"en": "English", "ja": "日本語"},
    "dash.show": {"en": "Show", "ja": "表示"},
    "dash.any": {"en": "Any", "ja": "すべて"},
    "dash.period": {"en": "Period", "ja": "期間"},
    "dash.period_help": {
        "en": "Accepted forms: {forms}.",
        "ja": "使える形式: {forms}。",
    },
    "dash.span": {"en": "{first} to {last}", "ja": "{first}〜{last}"},
    "dash.period_span": {
        "en": "{span}, compared with {previous}",
        "ja": "{span}（比較対象: {previous}）",
    },
    # numbers
    "dash.percent": {"en": "{n} %", "ja": "{n}%"},
    "dash.points": {"en": "{n} pts", "ja": "{n}ポイント"},
    "dash.change_up": {"en": "up {points} ({verdict})", "ja": "{points}上昇（{verdict}）"},
    "dash.change_down": {"en": "down {points} ({verdict})", "ja": "{points}低下（{verdict}）"},
    "dash.change_same": {"en": "no change", "ja": "変化なし"},
    "dash.change_none": {
        "en": "no comparison with the previous period",
        "ja": "前の期間と比較できません",
    },
    "dash.worse": {"en": "worse", "ja": "悪化"},
    "dash.better": {"en": "better", "ja": "改善"},
    # the errors
    "dash.bad_period_title": {"en": "Unknown period", "ja": "期間を読み取れません"},
    "dash.bad_query_title": {"en": "Unreadable request", "ja": "読み取れない指定"},
    "dash.bad_query": {
        "en": 'The value of "{name}" in the address cannot be read. Change it and try again.',
        "ja": "アドレスの「{name}」の値を読み取れません。変更してもう一度お試しください。",
    },
    "dash.not_found_title": {"en": "Not found", "ja": "見つかりません"},
    "dash.not_found": {
        "en": "There is nothing here for you. Go back to the overview.",
        "ja": "ここに表示できるものはありません。概要に戻ってください。",
    },
    "dash.unavailable_title": {"en": "Try again shortly", "ja": "しばらくしてからお試しください"},
    "dash.unavailable": {
        "en": "The database cannot be reached right now. Reload the page in a moment.",
        "ja": "現在データベースに接続できません。しばらくしてからページを再読み込みしてください。",
    },
    # the overview
    "dash.overview_title": {"en": "Ignore rate overview", "ja": "無視率の概要"},
    "dash.ignore_rate": {"en": "Ignore rate", "ja": "無視率"},
    "dash.sal_rate": {"en": "SAL rate", "ja": "SAL率"},
    "dash.sla_breach_rate": {"en": "SLA breach rate", "ja": "SLA違反率"},
    "dash.pending": {"en": "Pending", "ja": "期限内（未確定）"},
    "dash.counted": {"en": "Counted", "ja": "集計対象"},
    "dash.median_first_touch": {"en": "Median first touch", "ja": "初回対応の中央値"},
    "dash.trend_heading": {"en": "Last 12 weeks", "ja": "直近12週間"},
    "dash.trend_title": {
        "en": "{team}: ignore and SAL rates, last {weeks} weeks",
        "ja": "{team}: 無視率とSAL率（直近{weeks}週間）",
    },
    "dash.trend_desc": {
        "en": "Weekly rates from {first} to {last}; in the last week the ignore rate was "
        "{ignore} and the SAL rate {sal}. Solid line: ignore rate; dashed line: SAL rate.",
        "ja": "{first}から{last}までの週ごとの率。最終週の無視率は{ignore}、SAL率は{sal}。"
        "実線は無視率、破線はSAL率。",
    },
    "dash.trend_data": {"en": "The chart's numbers", "ja": "グラフの数値"},
    "dash.trend_table_caption": {
        "en": "{team}: rates by week",
        "ja": "{team}: 週ごとの率",
    },
    "dash.week": {"en": "Week", "ja": "週"},
    # a team
    "dash.team_title": {"en": "Team {team}", "ja": "チーム {team}"},
    "dash.by_group": {"en": "By rep, source and campaign", "ja": "担当者・流入元・キャンペーン別"},
    "dash.by_rep": {"en": "By rep", "ja": "担当者別"},
    "dash.by_source": {"en": "By source", "ja": "流入元別"},
    "dash.by_campaign": {"en": "By campaign", "ja": "キャンペーン別"},
    "dash.campaign": {"en": "Campaign", "ja": "キャンペーン"},
    "dash.source": {"en": "Source", "ja": "流入元"},
    "dash.rep": {"en": "Rep", "ja": "担当者"},
    "dash.no_campaign": {"en": "(no campaign)", "ja": "（キャンペーンなし）"},
    "dash.sort_by": {"en": "Sort by {column}", "ja": "{column}で並べ替え"},
    "dash.no_rows": {"en": "No leads in this period.", "ja": "この期間のリードはありません。"},
    "dash.reasons": {"en": "Rejection reasons", "ja": "却下の理由"},
    "dash.reasons_caption": {
        "en": "Rejected leads by reason",
        "ja": "理由別の却下されたリード",
    },
    "dash.reason": {"en": "Reason", "ja": "理由"},
    "dash.no_reason": {"en": "(no reason given)", "ja": "（理由なし）"},
    "dash.leads_count": {"en": "Leads", "ja": "件数"},
    "dash.no_reasons": {
        "en": "No lead was rejected in this period.",
        "ja": "この期間に却下されたリードはありません。",
    },
    "dash.why_heading": {"en": "Why it moved", "ja": "変化の理由"},
    # the leads
    "dash.leads_title": {"en": "Leads", "ja": "リード一覧"},
    "dash.leads_caption": {
        "en": "Leads handed off in the period, newest first",
        "ja": "期間内に受け渡されたリード（新しい順）",
    },
    "dash.lead": {"en": "Lead", "ja": "リード"},
    "dash.handed_off_at": {"en": "Handed off", "ja": "受け渡し日時"},
    "dash.due_at": {"en": "Due", "ja": "対応期限"},
    "dash.outcome": {"en": "Outcome", "ja": "結果"},
    "dash.owner": {"en": "Owner", "ja": "担当者"},
    "dash.charged_to": {"en": "Counted for rep", "ja": "集計上の担当者"},
    "dash.team": {"en": "Team", "ja": "チーム"},
    "dash.company": {"en": "Company", "ja": "会社"},
    "dash.first_action": {"en": "First action", "ja": "最初の対応"},
    "dash.first_action_at": {"en": "{what}, {at}", "ja": "{what}（{at}）"},
    "dash.campaign_hint": {"en": "- for none", "ja": "なしは -"},
    "dash.outcome_ignored": {"en": "ignored", "ja": "未対応"},
    "dash.outcome_pending": {"en": "pending", "ja": "期限内（未確定）"},
    "dash.outcome_late": {"en": "late", "ja": "遅延対応"},
    "dash.outcome_on_time": {"en": "on time", "ja": "期限内対応"},
    "dash.outcome_excluded": {"en": "excluded", "ja": "除外"},
    "dash.no_leads": {
        "en": "No lead matches these filters.",
        "ja": "この条件に合うリードはありません。",
    },
    "dash.own_leads_only": {
        "en": "In the teams where you are a rep you see only the leads you own.",
        "ja": "担当者として所属するチームでは、自分が担当するリードだけが表示されます。",
    },
    "dash.download_csv": {
        "en": "Download these leads as CSV",
        "ja": "このリードをCSVでダウンロード",
    },
    "dash.paging": {"en": "Pages", "ja": "ページ"},
    "dash.first_page": {"en": "First page", "ja": "最初のページ"},
    "dash.next_page": {"en": "Next page", "ja": "次のページ"},
    # one lead
    "dash.lead_title": {"en": "Lead: {lead}", "ja": "リード: {lead}"},
    "dash.timeline": {"en": "Timeline", "ja": "経過"},
    "dash.no_events": {"en": "Nothing recorded yet.", "ja": "まだ記録はありません。"},
    "dash.event_handoff": {"en": "Handed off to {owner}.", "ja": "{owner} に受け渡し。"},
    "dash.event_owner": {
        "en": "Reassigned to {owner} by {actor}, from {via}.",
        "ja": "{actor} が {owner} に担当を変更（{via}）。",
    },
    "dash.event_nudge": {
        "en": "Reminder sent to {rep}: {stage} (round {cycle}).",
        "ja": "{rep} にリマインドを送信: {stage}（{cycle}回目）。",
    },
    "dash.event_action": {
        "en": "{what} by {actor}, from {via}.",
        "ja": "{actor} が{what}（{via}）。",
    },
    "dash.event_reason": {"en": "Reason: {reason}.", "ja": "理由: {reason}。"},
    "dash.event_until": {"en": "Until {until}.", "ja": "{until} まで。"},
    "dash.action_channel": {"en": "{action} ({channel})", "ja": "{action}（{channel}）"},
    "dash.action_contacted": {"en": "Contacted", "ja": "連絡"},
    "dash.action_rejected": {"en": "Rejected", "ja": "却下"},
    "dash.action_excluded": {"en": "Excluded", "ja": "除外"},
    "dash.action_reassigned": {"en": "Reassigned", "ja": "担当変更"},
    "dash.action_snoozed": {"en": "Reminders snoozed", "ja": "リマインド延期"},
    "dash.action_comment": {"en": "Comment", "ja": "コメント"},
    "dash.channel_call": {"en": "call", "ja": "電話"},
    "dash.channel_email": {"en": "email", "ja": "メール"},
    "dash.channel_meeting": {"en": "meeting", "ja": "打ち合わせ"},
    "dash.channel_message": {"en": "message", "ja": "メッセージ"},
    "dash.channel_other": {"en": "other", "ja": "その他"},
    "dash.via_slack": {"en": "Slack", "ja": "Slack"},
    "dash.via_teams": {"en": "Microsoft Teams", "ja": "Microsoft Teams"},
    "dash.via_csv": {"en": "a CSV import", "ja": "CSV取り込み"},
    "dash.via_webhook": {"en": "the action webhook", "ja": "アクションのWebhook"},
    "dash.via_cli": {"en": "the command line", "ja": "コマンドライン"},
    "dash.via_salesforce": {"en": "Salesforce", "ja": "Salesforce"},
    "dash.via_hubspot": {"en": "HubSpot", "ja": "HubSpot"},
    "dash.via_sweep": {"en": "the automatic sweep", "ja": "自動処理"},
    "dash.nudge_heads_up": {"en": "heads-up", "ja": "事前通知"},
    "dash.nudge_reminder": {"en": "reminder", "ja": "リマインド"},
    "dash.nudge_escalation": {"en": "escalation", "ja": "エスカレーション"},
    "dash.nudge_reassign": {"en": "reassignment", "ja": "担当変更"},
    # why it moved
    "why.no_comparison": {
        "en": "There is nothing to compare: this period or the one before has no counted lead.",
        "ja": "比較できません。この期間か前の期間に集計対象のリードがありません。",
    },
    "why.moved": {
        "en": "The ignore rate went from {before} to {after} ({points}).",
        "ja": "無視率は {before} から {after} に変化しました（{points}）。",
    },
    "why.spread": {
        "en": "No single group stands out: the change is spread across groups, or the groups "
        "are too small to rank.",
        "ja": "特に目立つグループはありません。変化が複数のグループに分散しているか、"
        "グループが小さすぎて順位付けできません。",
    },
    "why.mix_doubled": {
        "en": "{group} leads at least doubled, from {share_before} to {share_after} of the "
        "counted leads, and are ignored at {rate_after}: {points} of the change, mostly from "
        "this shift in the mix.",
        "ja": "{group}のリードが集計対象の {share_before} から {share_after} へと倍以上に増え、"
        "その無視率は {rate_after} です。変化のうち {points} を占め、"
        "主に構成比の変化によるものです。",
    },
    "why.mix_up": {
        "en": "{group} leads grew from {share_before} to {share_after} of the counted leads "
        "and are ignored at {rate_after}: {points} of the change, mostly from this shift in "
        "the mix.",
        "ja": "{group}のリードが集計対象の {share_before} から {share_after} に増え、その無視率は "
        "{rate_after} です。変化のうち {points} を占め、主に構成比の変化によるものです。",
    },
    "why.mix_down": {
        "en": "{group} leads fell from {share_before} to {share_after} of the counted leads "
        "(ignored at {rate_before} before): {points} of the change, mostly from this shift in "
        "the mix.",
        "ja": "{group}のリードが集計対象の {share_before} から {share_after} に減りました"
        "（以前の無視率は {rate_before}）。変化のうち {points} を占め、"
        "主に構成比の変化によるものです。",
    },
    "why.rate_up": {
        "en": "{group} leads are ignored more, {rate_after} against {rate_before} before "
        "({share_after} of the counted leads): {points} of the change, mostly from this rate.",
        "ja": "{group}のリードの無視率が {rate_before} から {rate_after} に上がりました"
        "（集計対象の {share_after}）。変化のうち {points} を占め、"
        "主に率そのものの変化によるものです。",
    },
    "why.rate_down": {
        "en": "{group} leads are ignored less, {rate_after} against {rate_before} before "
        "({share_after} of the counted leads): {points} of the change, mostly from this rate.",
        "ja": "{group}のリードの無視率が {rate_before} から {rate_after} に下がりました"
        "（集計対象の {share_after}）。変化のうち {points} を占め、"
        "主に率そのものの変化によるものです。",
    },
    "why.group_source": {"en": "Source “{name}”", "ja": "流入元「{name}」"},
    "why.group_rep": {"en": "Rep {name}", "ja": "担当者 {name}"},
    "why.group_campaign": {"en": "Campaign “{name}”", "ja": "キャンペーン「{name}」"},
    "why.none_source": {"en": "Source (none)", "ja": "流入元（なし）"},
    "why.none_rep": {"en": "Unassigned", "ja": "未割り当て"},
    "why.none_campaign": {"en": "No-campaign", "ja": "キャンペーンなし"},
    "why.dimension_source": {"en": "Source", "ja": "流入元"},
    "why.dimension_rep": {"en": "Rep", "ja": "担当者"},
    "why.dimension_campaign": {"en": "Campaign", "ja": "キャンペーン"},
    "why.caption_source": {
        "en": "Contributions to the change, by source (percentage points)",
        "ja": "流入元別の変化への寄与（ポイント）",
    },
    "why.caption_rep": {
        "en": "Contributions to the change, by rep (percentage points)",
        "ja": "担当者別の変化への寄与（ポイント）",
    },
    "why.caption_campaign": {
        "en": "Contributions to the change, by campaign (percentage points)",
        "ja": "キャンペーン別の変化への寄与（ポイント）",
    },
    "why.counted_before": {"en": "Counted before", "ja": "前期間の集計対象"},
    "why.counted_after": {"en": "Counted now", "ja": "今期間の集計対象"},
    "why.share_before": {"en": "Share before", "ja": "前期間の構成比"},
    "why.share_after": {"en": "Share now", "ja": "今期間の構成比"},
    "why.rate_before": {"en": "Ignore rate before", "ja": "前期間の無視率"},
    "why.rate_after": {"en": "Ignore rate now", "ja": "今期間の無視率"},
    "why.interval_after": {"en": "95 % interval now", "ja": "今期間の95%信頼区間"},
    "why.interval": {"en": "{low} to {high} %", "ja": "{low}〜{high}%"},
    "why.mix": {"en": "Mix", "ja": "構成比効果"},
    "why.rate_effect": {"en": "Rate", "ja": "率効果"},
    "why.total": {"en": "Total", "ja": "合計"},
    "why.note": {"en": "Note", "ja": "注記"},
    "why.small": {
        "en": "small group: too few leads to rank",
        "ja": "小さいグループ: 件数が少なく順位付けしません",
    },
}
