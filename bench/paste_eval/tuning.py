"""The tuning part of the pasted tickets: what the paste reader was tuned on.

Its own templates, names, domains and layouts (Gmail-style forwarding, a ticket
form export, Postfix and Exim bounce texts); the held-out part (heldout.py)
uses none of them. Same case shape as there.
"""

# ruff: noqa: E501  (tables of test tickets: one per line reads best)
from __future__ import annotations

import random
from typing import Any

SURNAMES = [
    "山田",
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山口",
]
GIVEN = ["太郎", "花子", "一郎", "直美", "誠", "由美", "健", "彩"]
LATIN = [("John", "Smith"), ("Anna", "Muller"), ("Mei", "Lin")]
LOCALS = ["taro", "hanako.s", "ichiro-t", "naomi_88", "makoto.k", "yumi1225", "ken.w", "aya-n"]
DOMAINS = [
    "docomo.ne.jp",
    "gmail.com",
    "ybb.ne.jp",
    "hotmail.co.jp",
    "me.com",
    "biglobe.ne.jp",
    "so-net.ne.jp",
    "ocn.ne.jp",
]

TYPE_PHRASES: dict[str, list[str]] = {
    "not_arrived": [
        "仮登録メールが届きません。",
        "登録したのに確認メールが来ないです。",
        "会員登録のメールが届かないので登録が完了できません。",
    ],
    "already_registered": [
        "登録しようとしたら、すでに登録されていますと表示されました。",
        "このメールアドレスは登録済みですと出てしまいます。",
    ],
    "reregister_after_withdrawal": [
        "退会したあと、同じアドレスで再登録したいです。",
        "前に退会したのですが、また同じメールアドレスで登録できますか。",
    ],
    "login_trouble": [
        "ログインできません。",
        "パスワードがわからなくなりログインできなくなりました。",
    ],
    "customer_number": [
        "お客様番号がわかりません。",
        "お客様番号はどこで確認できますか。",
    ],
    "sso_registration": [
        "AppleのIDで登録しました。",
        "Googleで登録したのですが、その後どうすればいいですか。",
    ],
}
EN_PHRASES: dict[str, list[str]] = {
    "not_arrived": ["The registration email did not arrive."],
    "already_registered": ["It says my address is already registered."],
    "reregister_after_withdrawal": ["I withdrew and want to register again."],
    "login_trouble": ["I cannot log in. I forgot my password."],
    "customer_number": ["I don't know my customer number."],
    "sso_registration": ["I registered with my Google account."],
}
SUBJECT_OF = {
    "not_arrived": "[Lentrance]仮登録完了のお知らせ",
    "already_registered": "[Lentrance]パスワード再設定のお知らせ",
    "reregister_after_withdrawal": "[Lentrance]退会手続き完了のお知らせ",
    "login_trouble": "[Lentrance]パスワード再設定のお知らせ",
    "customer_number": "[Lentrance]会員登録完了のお知らせ",
    "sso_registration": "[Lentrance]仮登録完了のお知らせ",
}


def _slip(rng: random.Random, address: str) -> str:
    local, domain = address.split("@")
    kind = rng.randrange(4)
    if kind == 0:
        return local + "@" + domain.replace(".", "ー", 1)
    if kind == 1:
        return local + "@" + domain.replace(".", "、", 1)
    if kind == 2:
        return local + "＠" + domain
    return local + "@" + domain.replace(".", "．")


def _prose(rng: random.Random, kind: str, i: int) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    written = _slip(rng, address) if i % 4 == 2 else address
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
    shape = i % 4
    body = rng.choice(TYPE_PHRASES[kind])
    if shape == 0:
        text, name = (
            f"{surname}{given}です。登録したアドレスは{written}です。{body}",
            surname + given,
        )
    elif shape == 1:
        text, name = f"{body}アドレスは{written}です。", None
    elif shape == 2:
        text, name = f"{surname}と申します。{body}（{written}）", surname
    else:
        text, name = f"{body}\nメール：{written}\n{surname}", surname
    return {"text": text, "address": written, "type": kind, "name": name, "kind": "prose"}


def _several(rng: random.Random, kind: str, i: int) -> dict[str, Any]:
    right = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    other = f"{rng.choice(LOCALS)}.old@{rng.choice(DOMAINS)}"
    body = rng.choice(TYPE_PHRASES[kind])
    if i % 2 == 0:
        text = f"{body}登録したアドレスは{right}です。前のアドレス{other}は使っていません。"
    else:
        text = f"{body}古いアドレスは{other}で、今は{right}を使っています。"
    return {"text": text, "address": right, "type": kind, "name": None, "kind": "prose"}


def _gmail_forward(rng: random.Random, kind: str, i: int) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
    body = rng.choice(TYPE_PHRASES[kind])
    if i % 2 == 0:
        text = (
            f"{body}\n\n---------- Forwarded message ---------\n"
            "From: Lentrance <no-reply@lentrance.com>\n"
            "Date: 2026年12月1日(火) 10:00\n"
            f"Subject: {SUBJECT_OF[kind]}\n"
            f"To: <{address}>\n\n本文"
        )
        return {"text": text, "address": address, "type": kind, "name": None, "kind": "forwarded"}
    text = (
        f"From: {surname}{given} <{address}>\n"
        "To: support@lentrance.com\n"
        "Subject: お問い合わせ\n"
        "Date: Mon, 30 Nov 2026 12:00:00 +0900\n\n"
        f"{body}"
    )
    return {
        "text": text,
        "address": address,
        "type": kind,
        "name": surname + given,
        "kind": "forwarded",
    }


def _form_export(rng: random.Random, kind: str) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
    text = (
        "【お問い合わせフォーム】\n"
        f"お名前：{surname} {given}\n"
        f"メールアドレス：{address}\n"
        f"お問い合わせ内容：{rng.choice(TYPE_PHRASES[kind])}"
    )
    return {
        "text": text,
        "address": address,
        "type": kind,
        "name": f"{surname} {given}",
        "kind": "prose",
    }


def _bounce(rng: random.Random, i: int) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    if i % 2 == 0:
        text = (
            "This is the mail system at host mx.lentrance.com.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients.\n\n"
            "                   The mail system\n\n"
            f"<{address}>: host mx.example.jp[192.0.2.1] said: 550 5.1.1\n"
            "    User unknown (in reply to RCPT TO command)\n"
        )
    else:
        text = (
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            f"  {address}\n"
            "    host mx.example.jp [192.0.2.1]\n"
            "    SMTP error from remote mail server after RCPT TO:<" + address + ">:\n"
            "    550 5.2.2 mailbox full\n"
        )
    return {"text": text, "address": address, "type": "not_arrived", "name": None, "kind": "bounce"}


def cases() -> list[dict[str, Any]]:
    """The tuning part: about 80 cases, every ticket type and every shape."""
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    kinds = list(TYPE_PHRASES)
    for i in range(36):
        out.append(_prose(rng, kinds[i % len(kinds)], i))
    for i in range(12):
        out.append(_several(rng, kinds[i % len(kinds)], i))
    for i in range(12):
        out.append(_gmail_forward(rng, kinds[i % len(kinds)], i))
    for kind in kinds:
        out.append(_form_export(rng, kind))
    for i in range(8):
        out.append(_bounce(rng, i))
    for i, kind in enumerate(kinds):
        address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
        first, last = LATIN[i % len(LATIN)]
        text = f"My name is {first} {last}. {EN_PHRASES[kind][0]} Address: {address}"
        out.append(
            {
                "text": text,
                "address": address,
                "type": kind,
                "name": f"{first} {last}",
                "kind": "prose",
            }
        )
    return out


#: Written by hand, the way tickets arrive: replies quoting earlier mail, phone mail
#: with no punctuation, a help-desk export, several people's addresses, English.
HAND: list[dict[str, Any]] = [
    {
        "text": "お世話になっております。\n仮登録したのですがメールが来ません\n\n登録アドレス\nkenji.s_0401@ezweb.ne.jp\n\n宜しくお願い致します\n佐藤健二",
        "address": "kenji.s_0401@ezweb.ne.jp",
        "type": "not_arrived",
        "name": "佐藤健二",
        "kind": "prose",
    },
    {
        "text": "メール届かない ｍｉｋｉ．ｓ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ",
        "address": "ｍｉｋｉ．ｓ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ",
        "type": "not_arrived",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "> 仮登録メールが届きません\n> taro@docomo.ne.jp\n\nLentranceカスタマーサポートです。\nお問い合わせありがとうございます。",
        "address": "taro@docomo.ne.jp",
        "type": "not_arrived",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "退会済みのアカウント（旧：yamada1980@yahoo.co.jp）と同じアドレスで登録し直したいのですが可能でしょうか。山田",
        "address": "yamada1980@yahoo.co.jp",
        "type": "reregister_after_withdrawal",
        "name": "山田",
        "kind": "prose",
    },
    {
        "text": "Hi, I can't sign in to my account. My email is j.smith@outlook.com\nThanks\nJohn",
        "address": "j.smith@outlook.com",
        "type": "login_trouble",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "【問い合わせ番号】12345\n【お名前】田中 美紀\n【メールアドレス】miki.t@i.softbank.jp\n【内容】パスワードの再設定メールが届かずログインできません",
        "address": "miki.t@i.softbank.jp",
        "type": "login_trouble",
        "name": "田中 美紀",
        "kind": "prose",
    },
    {
        "text": "子供のアカウントです。子供のアドレスはkid2015@docomo.ne.jp、私（母）のアドレスはmama.k@gmail.comです。登録したのは子供のアドレスです。お客様番号がわかりません",
        "address": "kid2015@docomo.ne.jp",
        "type": "customer_number",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "Appleでサインインしたのでアドレスは xyz123abc@privaterelay.appleid.com になっていると思います",
        "address": "xyz123abc@privaterelay.appleid.com",
        "type": "sso_registration",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "登録しようとしたら既に使われていますと出ました　hiro.n@au.com　中村です",
        "address": "hiro.n@au.com",
        "type": "already_registered",
        "name": "中村",
        "kind": "prose",
    },
    {
        "text": "件名：メールが届きません\n差出人：鈴木 <suzuki.a@nifty.com>\n宛先：support@lentrance.com\n\n登録確認メールが届きません。",
        "address": "suzuki.a@nifty.com",
        "type": "not_arrived",
        "name": "鈴木",
        "kind": "forwarded",
    },
    {
        "text": "仮登録メールが届かないのでsupport@lentrance.comに連絡しました。アドレスはkaori@biglobe.ne.jpです。",
        "address": "kaori@biglobe.ne.jp",
        "type": "not_arrived",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "taro.yamada@gmail、com で登録しました。メールがきません",
        "address": "taro.yamada@gmail、com",
        "type": "not_arrived",
        "name": None,
        "kind": "prose",
    },
]


def cases_with_hand() -> list[dict[str, Any]]:
    """The generated tuning cases and the hand-written ones."""
    return cases() + HAND
