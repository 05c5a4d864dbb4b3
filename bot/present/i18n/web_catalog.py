"""The dashboard's sign-in, sign-out and access pages (`bot/web/`)."""

from __future__ import annotations

WEB: dict[str, dict[str, str]] = {
    "web.sign_in_failed": {"en": "Sign-in failed", "ja": "サインインできませんでした"},
    "web.start_again": {"en": "Sign in again", "ja": "もう一度サインイン"},
    "web.state_refused": {
        "en": "This sign-in could not be matched to one started in this browser: it was "
        "already used, or it was started elsewhere. Please start again.",
        "ja": "このサインインは、このブラウザで開始したものと一致しません（すでに使われたか、"
        "別の場所で開始されたものです）。もう一度やり直してください。",
    },
    "web.state_expired": {
        "en": "This sign-in took too long and has expired. Please start again.",
        "ja": "サインインに時間がかかりすぎたため、有効期限が切れました。"
        "もう一度やり直してください。",
    },
    "web.token_refused": {
        "en": "The sign-in provider's answer could not be verified, so it was not accepted. "
        "Please start again.",
        "ja": "サインイン提供元からの応答を検証できなかったため、受け付けませんでした。"
        "もう一度やり直してください。",
    },
    "web.provider_refused": {
        "en": "The sign-in was cancelled or refused by the sign-in provider.",
        "ja": "サインインはキャンセルされたか、サインイン提供元に拒否されました。",
    },
    "web.provider_unreachable": {
        "en": "The sign-in provider could not be reached. Please try again in a moment.",
        "ja": "サインイン提供元に接続できませんでした。しばらくしてからもう一度お試しください。",
    },
    "web.email_unverified": {
        "en": "Your account has no verified email address, so it cannot be used to sign in here.",
        "ja": "お使いのアカウントには確認済みのメールアドレスがないため、ここへのサインインには"
        "使えません。",
    },
    "web.no_access_title": {"en": "Nothing to show", "ja": "表示できるデータはありません"},
    "web.no_access": {
        "en": "You are signed in as {email}, but you are not an admin and no team lists "
        "you as a manager or rep, so there is no data for you here. Ask an admin to add "
        "you to the configuration.",
        "ja": "{email} としてサインインしていますが、管理者ではなく、どのチームにもマネージャーや"
        "担当者として登録されていないため、ここに表示できるデータはありません。"
        "設定への追加を管理者に依頼してください。",
    },
    "web.signed_in_as": {
        "en": "Signed in as {name} ({email})",
        "ja": "{name}（{email}）としてサインイン中",
    },
    "web.sign_out": {"en": "Sign out", "ja": "サインアウト"},
    "web.sign_out_question": {
        "en": "Sign out of the dashboard?",
        "ja": "ダッシュボードからサインアウトしますか？",
    },
    "web.signed_out": {"en": "You are signed out.", "ja": "サインアウトしました。"},
    "web.sign_in": {"en": "Sign in", "ja": "サインイン"},
    "web.form_expired": {
        "en": "This sign-out form has expired. Reload the page and try again.",
        "ja": "このサインアウトのフォームは有効期限が切れています。ページを再読み込みして"
        "もう一度お試しください。",
    },
    "web.sign_in_required": {
        "en": "Sign in to see this page.",
        "ja": "このページを見るにはサインインしてください。",
    },
    "web.demo_title": {"en": "Demo sign-in", "ja": "デモ用サインイン"},
    "web.demo_intro": {
        "en": "This is the demo, with made-up data. Pick who to be: each sees what that role "
        "sees. This sign-in exists only in `ignorerate demo`, on this computer.",
        "ja": "架空のデータによるデモです。誰としてサインインするか選んでください。"
        "それぞれの役割で見える範囲が表示されます。このサインインは `ignorerate demo` の中、"
        "このコンピューター上にだけあります。",
    },
    "web.demo_as": {"en": "Sign in as {email}", "ja": "{email} としてサインイン"},
    "web.demo_admin": {"en": "admin: every team", "ja": "管理者: 全チーム"},
    "web.demo_manager": {"en": "manager: {teams}", "ja": "マネージャー: {teams}"},
    "web.demo_rep": {"en": "rep: {teams}, own leads", "ja": "担当者: {teams}（自分のリード）"},
}
