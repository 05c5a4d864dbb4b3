"""The message catalog. Keys are dotted names; every key has `en` and `ja`."""

from __future__ import annotations

from bot.present.i18n.ack_catalog import ACK
from bot.present.i18n.dashboard_catalog import DASHBOARD
from bot.present.i18n.summary_catalog import SUMMARY
from bot.present.i18n.teams_catalog import TEAMS
from bot.present.i18n.web_catalog import WEB

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
    # the days are metrics.instants.FIRST_DAY and LAST_DAY (a test keeps them in step)
    "period.error": {
        "en": 'I can\'t read the period "{text}"{detail}. Accepted forms: {forms}. '
        "A period lies between 1970-01-01 and 2099-12-31.",
        "ja": "期間「{text}」を読み取れません{detail}。使える形式: {forms}。"
        "期間は 1970-01-01 から 2099-12-31 までの日で指定してください。",
    },
    # lead cards
    "card.new_lead": {"en": "New lead for {team}", "ja": "{team} の新しいリード"},
    "card.unassigned_lead": {
        "en": "New lead for {team}, no owner yet: who takes it?",
        "ja": "{team} の新しいリード（担当者未定）：どなたが対応しますか？",
    },
    "card.nobody": {"en": "unassigned", "ja": "未割り当て"},
    "card.source": {"en": "Source", "ja": "流入元"},
    "card.owner": {"en": "Owner", "ja": "担当者"},
    "card.handed_off": {"en": "Handed off", "ja": "受け渡し日時"},
    "card.due": {"en": "SLA deadline", "ja": "対応期限"},
    "card.email": {"en": "Email", "ja": "メール"},
    "card.campaign": {"en": "Campaign", "ja": "キャンペーン"},
    "card.take": {"en": "Take it", "ja": "担当する"},
    "card.reject": {"en": "Reject…", "ja": "却下…"},
    "card.snooze": {"en": "Snooze reminders", "ja": "リマインドを延期"},
    "card.reassign": {"en": "Reassign to…", "ja": "担当を変更…"},
    "card.snoozed": {
        "en": "Reminders snoozed until {until}; the SLA clock keeps running.",
        "ja": "{until} までリマインドを延期中（対応期限は変わりません）。",
    },
    "card.within_sla": {"en": "within SLA", "ja": "期限内"},
    "card.past_sla": {"en": "{late} past the SLA", "ja": "期限を {late} 超過"},
    "card.contacted": {
        "en": ":white_check_mark: Contacted by {actor}, {how}, {after} after handoff, {sla}",
        "ja": ":white_check_mark: {actor} が{how}で対応（受け渡しから {after}、{sla}）",
    },
    "card.rejected": {
        "en": ":no_entry_sign: Rejected by {actor} ({reason}), {after} after handoff, {sla}",
        "ja": ":no_entry_sign: {actor} が却下（{reason}）（受け渡しから {after}、{sla}）",
    },
    "card.excluded": {
        "en": ":wastebasket: Excluded ({reason}): this lead is not counted",
        "ja": ":wastebasket: 除外（{reason}）：このリードは集計しません",
    },
    "contact.call": {"en": "Call", "ja": "電話"},
    "contact.email": {"en": "Email", "ja": "メール"},
    "contact.meeting": {"en": "Meeting", "ja": "面談"},
    "contact.message": {"en": "Message", "ja": "メッセージ"},
    "contact.other": {"en": "Other", "ja": "その他"},
    "span.minutes": {"en": "{m} min", "ja": "{m}分"},
    "span.hours_minutes": {"en": "{h} h {m} min", "ja": "{h}時間{m}分"},
    "span.days_hours": {"en": "{d} d {h} h", "ja": "{d}日{h}時間"},
    "span.hours": {"en": "{h} h", "ja": "{h}時間"},
    "span.days": {"en": "{d} d", "ja": "{d}日"},
    "reason.not_a_fit": {"en": "not a fit", "ja": "対象外"},
    "reason.no_budget": {"en": "no budget", "ja": "予算なし"},
    "reason.bad_timing": {"en": "bad timing", "ja": "時期が合わない"},
    "reason.competitor": {"en": "competitor", "ja": "競合"},
    "reason.other": {"en": "other", "ja": "その他"},
    "reason.duplicate": {"en": "duplicate", "ja": "重複"},
    "reason.test_or_spam": {"en": "test or spam", "ja": "テスト・スパム"},
    "reason.invalid_contact": {"en": "invalid contact", "ja": "連絡先が無効"},
    "reason.existing_customer": {"en": "existing customer", "ja": "既存顧客"},
    "reason.excluded": {"en": "excluded", "ja": "除外"},
    "reject.title": {"en": "Reject lead", "ja": "リードを却下"},
    "reject.submit": {"en": "Reject", "ja": "却下する"},
    "reject.cancel": {"en": "Cancel", "ja": "キャンセル"},
    "reject.reason": {"en": "Reason", "ja": "理由"},
    "reject.choose": {"en": "Choose a reason.", "ja": "理由を選んでください。"},
    "reject.not_counted": {"en": "not counted", "ja": "集計外"},
    "reject.explain": {
        "en": "A rejection is a decision and counts as acted on. Reasons marked "
        '"not counted" mean the lead should never have been passed: it leaves the count.',
        "ja": "却下も対応として数えます。「集計外」の理由は、本来渡されるべきでなかった"
        "リードとして集計から外します。",
    },
    # answers to clicks
    "click.forbidden": {
        "en": "Only the lead's owner, their teammates and managers can act on this lead. "
        "Nothing was recorded.",
        "ja": "このリードを操作できるのは担当者・同じチームのメンバー・マネージャーだけです。"
        "記録していません。",
    },
    "click.already_actioned": {
        "en": "{actor} got there first ({when}); nothing else was recorded.",
        "ja": "{actor} が先に対応済みです（{when}）。記録は追加していません。",
    },
    "click.already_excluded": {
        "en": "This lead was already excluded; nothing was recorded.",
        "ja": "このリードは既に除外されています。記録していません。",
    },
    "click.no_such_lead": {
        "en": "I can't find this lead any more; nothing was recorded.",
        "ja": "このリードが見つかりません。記録していません。",
    },
    "click.unknown_user": {
        "en": "I can't tell who you are (Slack did not give me your email); nothing was recorded.",
        "ja": "あなたのメールアドレスを Slack から取得できないため、記録できませんでした。",
    },
    "click.took_over": {
        "en": "You took this lead over; it is yours now, on the record.",
        "ja": "このリードを引き継ぎました（記録済み）。",
    },
    "click.snoozed": {
        "en": "Reminders snoozed until {until}. The SLA deadline stays {due}.",
        "ja": "{until} までリマインドを延期しました。対応期限は {due} のままです。",
    },
    "click.reassigned": {"en": "Reassigned to {owner}.", "ja": "担当を {owner} に変更しました。"},
    "click.reassign_unknown": {
        "en": "I can't find an email for that person in Slack; nothing was recorded.",
        "ja": "その方のメールアドレスが Slack で見つからないため、記録していません。",
    },
    "click.snooze_not_offered": {
        "en": "Reminders can be snoozed for {choices} only; nothing was recorded.",
        "ja": "リマインドの延期は {choices} のいずれかだけです。記録していません。",
    },
    "click.owner_outside_team": {
        "en": "The person picked is not a rep or manager of team {team} (only an admin may "
        "pick a rep of another team); nothing was recorded.",
        "ja": "選ばれた方はチーム {team} の担当者でもマネージャーでもありません"
        "（他チームの担当者を選べるのは管理者だけです）。記録していません。",
    },
    "click.malformed": {
        "en": "I couldn't read what this button sent (an old or altered message?); "
        "nothing was recorded.",
        "ja": "このボタンの送信内容を読み取れませんでした（古いメッセージか改変されたもの）。"
        "記録していません。",
    },
    "click.failed": {
        "en": "Something went wrong on our side; nothing was recorded. Please try again.",
        "ja": "内部エラーのため記録できませんでした。もう一度お試しください。",
    },
    # /ignorerate
    "slack.counts": {
        "en": "{handed_off} passed · {excluded} excluded · {counted} counted: {ignored} "
        "ignored, {actioned} actioned ({on_time} on time, {late} late, {rejected} rejected)",
        "ja": "受け渡し {handed_off} 件・除外 {excluded} 件・集計対象 {counted} 件：未対応 "
        "{ignored} 件、対応済 {actioned} 件（期限内 {on_time}、遅延 {late}、却下 {rejected}）",
    },
    "slack.ignore": {"en": "ignore", "ja": "無視率"},
    "slack.breach": {"en": "breach", "ja": "SLA違反"},
    "slack.pending": {"en": "{n} pending", "ja": "期限内 {n} 件"},
    "slack.and_more": {"en": "…and {n} more", "ja": "…ほか {n} 件"},
    "command.usage": {
        "en": "*Usage:* `/ignorerate [PERIOD] [team:NAME] [by:rep|source] [public]`\n"
        "• PERIOD: `last-month`, `this-week`, `last-7-days`, `2026-Q3`, `2026-W47`, "
        "`2026-10-01..2026-10-15`, `先月`… (default `last-7-days`)\n"
        "• `team:NAME`: another team (`team:all` for admins)\n"
        "• `by:rep` or `by:source`: a breakdown\n"
        "• `public`: post the answer in the channel instead of only to you\n"
        "• `dashboard`: the link to the dashboard",
        "ja": "*使い方:* `/ignorerate [期間] [team:チーム名] [by:rep|source] [public]`\n"
        "• 期間: `先月`、`今週`、`過去7日`、`last-month`、`2026-Q3`、`2026-W47`、"
        "`2026-10-01..2026-10-15` など（省略時は `last-7-days`）\n"
        "• `team:チーム名`: 別のチーム（管理者は `team:all` で全体）\n"
        "• `by:rep` または `by:source`: 内訳\n"
        "• `public`: 自分だけでなくチャンネルに表示\n"
        "• `dashboard`: ダッシュボードへのリンク",
    },
    "command.dashboard": {
        "en": "The dashboard: {url}",
        "ja": "ダッシュボード: {url}",
    },
    "command.dashboard_off": {
        "en": "The dashboard is not turned on here. An admin turns it on with "
        "IGNORERATE_SESSION_SECRET, IGNORERATE_OIDC_CLIENT_ID, IGNORERATE_OIDC_CLIENT_SECRET "
        "and PUBLIC_BASE_URL (the README's Dashboard section).",
        "ja": "ダッシュボードはまだ有効になっていません。管理者が IGNORERATE_SESSION_SECRET、"
        "IGNORERATE_OIDC_CLIENT_ID、IGNORERATE_OIDC_CLIENT_SECRET、PUBLIC_BASE_URL を設定すると"
        "有効になります（README の Dashboard の節）。",
    },
    "command.bad_option": {
        "en": "I don't know `{token}`. {detail}",
        "ja": "`{token}` は使えません。{detail}",
    },
    "command.by_values": {
        "en": "`by:` takes `rep` or `source`.",
        "ja": "`by:` には `rep` か `source` を指定してください。",
    },
    "command.two_periods": {
        "en": "Give one period, not two (`{first}` and `{second}`).",
        "ja": "期間は1つだけ指定してください（`{first}` と `{second}`）。",
    },
    "command.unknown_team": {
        "en": "There is no team `{team}`. Teams: {known}",
        "ja": "チーム `{team}` はありません。チーム一覧: {known}",
    },
    "command.no_team": {
        "en": "Which team? This channel belongs to none and you are in none; add `team:NAME`.",
        "ja": "どのチームですか？このチャンネルにもあなたにもチームがありません。"
        "`team:チーム名` を付けてください。",
    },
    "command.not_allowed": {
        "en": "You can see your own team's numbers; `{team}` is not yours to see.",
        "ja": "見られるのは自分のチームの数値だけです。`{team}` は表示できません。",
    },
    "command.all_admins_only": {
        "en": "`team:all` is for admins.",
        "ja": "`team:all` は管理者だけが使えます。",
    },
    # App Home
    "teams.ask.usage": {
        "en": "**Usage:** @IgnoreRate [PERIOD] [team:NAME] [by:rep|source]\n\n"
        "PERIOD: last-month, this-week, last-7-days, 2026-Q3, 2026-W47, "
        "2026-10-01..2026-10-15, 先月… (default last-7-days). "
        "The answer is about the team this channel belongs to. "
        "`dashboard` alone: the link to the dashboard.",
        "ja": "**使い方:** @IgnoreRate [期間] [team:チーム名] [by:rep|source]\n\n"
        "期間: 先月、今週、過去7日、last-month、2026-Q3、2026-W47、"
        "2026-10-01..2026-10-15 など（省略時は過去7日）。"
        "このチャネルのチームについて答えます。"
        "`dashboard` だけを送るとダッシュボードへのリンクを返します。",
    },
    "teams.ask.unknown_channel": {
        "en": "This channel is not a team's channel. Set its id as `teams_channel` of a team "
        "in the bot's config to ask here.",
        "ja": "このチャネルはどのチームにも設定されていません。設定ファイルでチームの "
        "`teams_channel` にこのチャネルの ID を指定してください。",
    },
    "teams.ask.other_team": {
        "en": "This channel may ask about its own team only, not {team}.",
        "ja": "このチャネルで確認できるのは自チームの数値だけです（{team} は対象外です）。",
    },
    "teams.ask.all_refused": {
        "en": "team:all is for admins, in Slack; a Teams channel sees its own team.",
        "ja": "team:all は Slack の管理者向けです。Teams のチャネルでは自チームのみ確認できます。",
    },
    "digest.rep.heading": {
        "en": "{n} of your leads need a first touch",
        "ja": "初回対応が必要なリードが {n} 件あります",
    },
    "digest.manager.heading": {
        "en": "{n} leads in {teams} are past their SLA with no first touch",
        "ja": "{teams} で対応期限を過ぎた未対応のリードが {n} 件あります",
    },
    "digest.channel.heading": {
        "en": "{n} leads in {teams} are waiting for someone to take them",
        "ja": "{teams} で対応待ちのリードが {n} 件あります",
    },
    "digest.overdue": {
        "en": ":red_circle: {late} past the deadline ({due})",
        "ja": ":red_circle: 期限（{due}）を {late} 超過",
    },
    "digest.due_in": {
        "en": ":large_yellow_circle: due in {left} ({due})",
        "ja": ":large_yellow_circle: 期限まで {left}（{due}）",
    },
    "digest.held_by": {"en": "held by {owner}", "ja": "担当: {owner}"},
    "digest.more": {
        "en": "…and {n} more. Your Home tab lists them all.",
        "ja": "…ほか {n} 件。すべてホームタブに表示されています。",
    },
    "digest.footer": {
        "en": "A first call, email or rejection stops these reminders for that lead.",
        "ja": "電話・メール・却下のいずれかを記録すると、そのリードのリマインドは止まります。",
    },
    "home.title": {"en": "Your leads", "ja": "あなたのリード"},
    "home.your_open": {
        "en": "Waiting for your first touch: {n}",
        "ja": "初回対応待ち: {n} 件",
    },
    "home.nothing_open": {
        "en": "Nothing waiting. Every lead you hold has been touched.",
        "ja": "対応待ちのリードはありません。",
    },
    "home.team_week": {"en": "{team} this week", "ja": "{team} の今週"},
    "home.overdue_holders": {
        "en": "Who holds overdue, untouched leads",
        "ja": "期限切れ・未対応のリードを持っている人",
    },
    "home.no_overdue": {
        "en": "No overdue, untouched leads.",
        "ja": "期限切れの未対応リードはありません。",
    },
    # handoffs read from Slack messages
    "handoff.unreadable": {
        "en": "This looks like a lead handoff but I could not record it: {problems}. "
        "Nothing was recorded; post it again with these fixed.",
        "ja": "リードの受け渡しのようですが記録できませんでした: {problems}。"
        "何も記録していません。修正して再投稿してください。",
    },
}
CATALOG.update(SUMMARY)
CATALOG.update(ACK)
CATALOG.update(TEAMS)
CATALOG.update(WEB)
CATALOG.update(DASHBOARD)
