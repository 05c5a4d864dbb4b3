"""The one-click pages a Teams card's links open (`bot/teams/ack/`). Answers that
mean the same as a Slack click's reuse the `click.*` keys; these are the page's own."""

from __future__ import annotations

ACK: dict[str, dict[str, str]] = {
    "ack.title": {"en": "Lead: {lead}", "ja": "リード: {lead}"},
    "ack.no_name": {"en": "(no name)", "ja": "（名前なし）"},
    "ack.company": {"en": "Company", "ja": "会社"},
    "ack.sent_to": {"en": "Sent to", "ja": "送信先"},
    "ack.sent_to_channel": {
        "en": "the team channel (no owner yet)",
        "ja": "チームのチャンネル（担当者未定）",
    },
    "ack.state": {"en": "Status", "ja": "状況"},
    "ack.state_open": {
        "en": "Nobody has acted on this lead yet.",
        "ja": "このリードはまだ誰も対応していません。",
    },
    "ack.state_contacted": {
        "en": "Contacted by {actor} ({how}) at {when}.",
        "ja": "{actor} が{how}で対応済みです（{when}）。",
    },
    "ack.state_rejected": {
        "en": "Rejected by {actor} ({reason}) at {when}.",
        "ja": "{actor} が却下済みです（{reason}、{when}）。",
    },
    "ack.state_excluded": {
        "en": "Excluded ({reason}) at {when}: this lead is not counted.",
        "ja": "除外済みです（{reason}、{when}）。このリードは集計しません。",
    },
    "ack.nothing_to_do": {
        "en": "There is nothing left to do here.",
        "ja": "ここで行う操作はもうありません。",
    },
    "ack.who_are_you": {"en": "Who are you?", "ja": "あなたはどなたですか？"},
    "ack.choose_person": {"en": "Choose your name", "ja": "名前を選んでください"},
    "ack.who_note": {
        "en": "Teams does not tell this page who you are: the link is the credential, so "
        "pick yourself honestly.",
        "ja": "Teams からはあなたが誰かを受け取れないため、このリンク自体が本人確認の代わりです。"
        "ご自身を選んでください。",
    },
    "ack.contacted_heading": {"en": "I contacted them by", "ja": "対応した方法"},
    "ack.reject_heading": {"en": "Reject this lead", "ja": "このリードを却下"},
    "ack.snooze_heading": {
        "en": "Snooze reminders (the SLA deadline stays)",
        "ja": "リマインドを延期（対応期限は変わりません）",
    },
    "ack.one_day": {"en": "1 day", "ja": "1日"},
    "ack.recorded": {"en": "Recorded", "ja": "記録しました"},
    "ack.recorded_contacted": {
        "en": "Recorded: {actor} contacted this lead by {how}.",
        "ja": "記録しました: {actor} が{how}で対応しました。",
    },
    "ack.recorded_rejected": {
        "en": "Recorded: {actor} rejected this lead ({reason}). A rejection counts as acted on.",
        "ja": "記録しました: {actor} がこのリードを却下しました（{reason}）。"
        "却下も対応として数えます。",
    },
    "ack.recorded_excluded": {
        "en": "Recorded: this lead is excluded ({reason}) and is not counted.",
        "ja": "記録しました: このリードを除外しました（{reason}）。集計には含めません。",
    },
    "ack.repeated": {
        "en": "This was already recorded; nothing more was recorded.",
        "ja": "この操作は既に記録済みです。記録は追加していません。",
    },
    "ack.not_recorded": {"en": "Not recorded", "ja": "記録していません"},
    "ack.bad_choice": {
        "en": "I could not read what you chose; nothing was recorded. Reload the link and try "
        "again.",
        "ja": "選択内容を読み取れなかったため、記録していません。リンクを開き直してもう一度"
        "お試しください。",
    },
    "ack.csrf": {
        "en": "This form has expired or did not come from this page; reload the link. "
        "Nothing was recorded.",
        "ja": "このフォームは期限切れか、このページから送信されたものではありません。"
        "リンクを開き直してください。記録していません。",
    },
    "ack.too_large": {
        "en": "This request is too large; nothing was recorded.",
        "ja": "リクエストが大きすぎるため、記録していません。",
    },
    "ack.tampered_title": {"en": "This link is not valid", "ja": "このリンクは無効です"},
    "ack.tampered": {
        "en": "This link was not made by ignorerate, or it was changed on the way (a link cut "
        "short when copied looks like this). Nothing was recorded. Open the link from the "
        "card again.",
        "ja": "このリンクは ignorerate が作成したものではないか、途中で書き換えられています"
        "（コピー時に途中で切れたリンクもこうなります）。記録していません。"
        "カードからもう一度リンクを開いてください。",
    },
    "ack.expired_title": {"en": "This link has expired", "ja": "このリンクは期限切れです"},
    "ack.expired": {
        "en": "One-click links work for a limited time; nothing was recorded. The next "
        "reminder about this lead in the channel carries a fresh link.",
        "ja": "ワンクリックのリンクには有効期限があります。記録していません。"
        "このリードについての次のリマインドに新しいリンクが付きます。",
    },
    "ack.expired_slack": {
        "en": "You can also open the lead in Slack, in the team's channel, and act on it there.",
        "ja": "Slack のチームのチャンネルからこのリードを開いて操作することもできます。",
    },
    "ack.not_found_title": {"en": "Lead not found", "ja": "リードが見つかりません"},
    "ack.unknown_rep": {
        "en": "I can't find the person this link was sent to; nothing was recorded.",
        "ja": "このリンクの送信先の方が見つからないため、記録していません。",
    },
    "ack.forbidden_title": {"en": "Not allowed", "ja": "操作できません"},
    "ack.footer": {
        "en": "ignorerate: every lead handed to sales gets a first touch.",
        "ja": "ignorerate: 営業に渡したリードすべてに最初の対応を。",
    },
}
