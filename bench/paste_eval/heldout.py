"""The held-out pasted tickets: written before the paste reader, never read while tuning it.

Generated (seeded, deterministic) from templates, names, domains, mail layouts
and bounce layouts that the tuning part (tuning.py) does not use: Outlook-style
Japanese forwarding headers, a help-desk export, Gmail / qmail / Sendmail bounce
texts, other surnames and sentence shapes. Each case: the pasted ``text``, the
``address`` the customer means (as written in the text; compared after
:func:`maildoctor.address.repair.repair`), the ticket ``type`` and the customer's
``name`` as written (None when the text gives none).
"""

# ruff: noqa: E501  (tables of test phrases: one per line reads best)
from __future__ import annotations

import random
from typing import Any

SURNAMES = [
    "小川",
    "石井",
    "森田",
    "岡本",
    "村上",
    "藤田",
    "西村",
    "長谷川",
    "近藤",
    "坂本",
    "遠藤",
    "青木",
]
GIVEN = ["裕子", "健太", "美咲", "大輔", "陽子", "翔", "恵", "拓也"]
LATIN = [("Emily", "Clark"), ("Ken", "Watanabe"), ("Sofia", "Rossi"), ("Liam", "Chen")]
LOCALS = [
    "ogawa.y",
    "k-ishii",
    "misaki_0312",
    "dai.morita",
    "yoko77",
    "sho.murakami",
    "megu-fjt",
    "taku.n",
]
DOMAINS = [
    "ezweb.ne.jp",
    "softbank.ne.jp",
    "icloud.com",
    "yahoo.co.jp",
    "outlook.jp",
    "au.com",
    "i.softbank.jp",
    "nifty.com",
]

TYPE_PHRASES: dict[str, list[str]] = {
    "not_arrived": [
        "会員登録をしようとしたのですが、確認のメールがいつまでたっても来ません。",
        "仮登録の案内メールが受信できずに困っています。",
        "本登録用のURLが書かれたメールが見当たりません。迷惑メールフォルダも見ました。",
        "登録手続きのメールが一向に届かないのですが、どうすればよいでしょうか。",
    ],
    "already_registered": [
        "会員登録しようとすると「このメールアドレスはすでに登録されています」と出て進めません。",
        "新しく登録したいのに、既に登録済みのアドレスですと表示されます。覚えがありません。",
        "登録画面でメールアドレスが既に使われていると言われました。",
    ],
    "reregister_after_withdrawal": [
        "以前に退会したのですが、同じメールアドレスでまた登録し直したいです。",
        "一度退会しました。もう一度同じアドレスで会員になることはできますか。",
        "昨年退会手続きをしたアカウントのアドレスで再登録したいと思っています。",
    ],
    "login_trouble": [
        "ログインができなくなりました。パスワードを何度入れてもエラーになります。",
        "パスワードを忘れてしまってログインできません。",
        "アカウントがロックされましたと表示されてログインできない状態です。",
    ],
    "customer_number": [
        "お客様番号がどこに書いてあるのか分かりません。教えてください。",
        "問い合わせフォームでお客様番号を求められましたが、自分の番号が分かりません。",
        "会員のお客様番号を確認したいです。",
    ],
    "sso_registration": [
        "Appleでサインインを使って登録しました。そのあとの手続きが分かりません。",
        "Googleアカウントで会員登録したのですが、メールアドレスの確認が終わりません。",
        "MicrosoftアカウントのIDで登録したはずなのですが、うまくいきません。",
    ],
}
EN_PHRASES: dict[str, list[str]] = {
    "not_arrived": ["I signed up but the confirmation email never came."],
    "already_registered": [
        "The sign-up page tells me this email is already registered, but I never joined."
    ],
    "reregister_after_withdrawal": [
        "I deleted my account last year and want to sign up again with the same email."
    ],
    "login_trouble": ["I can't log in anymore, the password is not accepted."],
    "customer_number": ["Where can I find my customer number?"],
    "sso_registration": ["I registered using Sign in with Apple and now I'm stuck."],
}

SUBJECT_OF = {
    "not_arrived": "[Lentrance]仮登録完了のお知らせ",
    "already_registered": "[Lentrance]パスワード再設定のお知らせ",
    "reregister_after_withdrawal": "[Lentrance]退会手続き完了のお知らせ",
    "login_trouble": "[Lentrance]パスワード再設定のお知らせ",
    "customer_number": "[Lentrance]会員登録完了のお知らせ",
    "sso_registration": "[Lentrance]仮登録完了のお知らせ",
}


def _embed(rng: random.Random, address: str) -> str:
    """The address in a Japanese sentence, shaped the way this part writes it."""
    shape = rng.randrange(5)
    if shape == 0:
        return f"メールアドレスは「{address}」です。"
    if shape == 1:
        return f"登録に使ったアドレス（{address}）"
    if shape == 2:
        return f"アドレス→{address}"
    if shape == 3:
        return f"\n{address}\n"
    return f"{address}で登録しています。"


def _slip(rng: random.Random, address: str) -> str:
    """An IME slip in the domain, or the whole address full width."""
    local, domain = address.split("@")
    kind = rng.randrange(4)
    if kind == 0:
        return local + "＠" + domain.replace(".", "．")
    if kind == 1:
        return local + "@" + domain.replace(".", "。", 1)
    if kind == 2:
        return local + "@" + domain.replace(".", "，", 1)
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in address)


def _name_intro(rng: random.Random, surname: str, given: str) -> tuple[str, str, str]:
    """(text before the body, text after it, the name as written)."""
    shape = rng.randrange(4)
    if shape == 0:
        return f"{surname}{given}と申します。", "", surname + given
    if shape == 1:
        return f"お世話になります。{surname}です。", "", surname
    if shape == 2:
        return "", f"\n\n{surname} {given}", f"{surname} {given}"
    return f"私、{surname}と申します。", "", surname


def _prose(rng: random.Random, kind: str, i: int) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    written = _slip(rng, address) if i % 4 == 3 else address
    named = i % 5 not in (1, 3)
    before, after, name = (
        ("", "", None) if not named else _name_intro(rng, rng.choice(SURNAMES), rng.choice(GIVEN))
    )
    body = rng.choice(TYPE_PHRASES[kind])
    text = before + body + _embed(rng, written) + "よろしくお願いします。" + after
    return {"text": text, "address": written, "type": kind, "name": name, "kind": "prose"}


def _two_addresses(rng: random.Random, kind: str) -> dict[str, Any]:
    right = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    other = f"{rng.choice(LOCALS)}2@{rng.choice(DOMAINS)}"
    shape = rng.randrange(3)
    body = rng.choice(TYPE_PHRASES[kind])
    if shape == 0:
        text = f"{body}以前のアドレス{other}から、新しいアドレス{right}に変えています。"
    elif shape == 1:
        text = f"{body}登録したのは{right}です。いまこのメールは会社の{other}から送っています。"
    else:
        text = f"{body}\n旧アドレス：{other}\n現在のアドレス：{right}"
    return {"text": text, "address": right, "type": kind, "name": None, "kind": "prose"}


def _outlook_forward(rng: random.Random, kind: str, i: int) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
    note = rng.choice(TYPE_PHRASES[kind])
    if i % 2 == 0:
        # The customer forwards the Lentrance mail they got: they are its recipient.
        text = (
            f"{note}届いたメールを転送します。\n\n-----Original Message-----\n"
            "差出人: Lentrance <no-reply@lentrance.com>\n"
            "送信日時: 2026年11月30日 9:41\n"
            f"宛先: {address}\n"
            f"件名: {SUBJECT_OF[kind]}\n\nLentranceをご利用いただきありがとうございます。"
        )
        return {"text": text, "address": address, "type": kind, "name": None, "kind": "forwarded"}
    text = (
        f"差出人: {surname} {given} <{address}>\n"
        "送信日時: 2026年12月2日 21:05\n"
        "宛先: support@lentrance.com\n"
        "件名: 問い合わせ\n\n"
        f"{note}\n\n{surname}"
    )
    return {
        "text": text,
        "address": address,
        "type": kind,
        "name": f"{surname} {given}",
        "kind": "forwarded",
    }


def _desk_export(rng: random.Random, kind: str) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    first, last = rng.choice(LATIN)
    text = (
        "Ticket #48213\nStatus: Open\n"
        f"From: {first} {last} <{address}>\n"
        "To: help@lentrance.com\n"
        "Subject: Help\n"
        "Date: Tue, 01 Dec 2026 08:15:00 +0900\n\n"
        f"{rng.choice(EN_PHRASES[kind])}\n\nThanks,\n{first}"
    )
    return {
        "text": text,
        "address": address,
        "type": kind,
        "name": f"{first} {last}",
        "kind": "forwarded",
    }


def _bounce(rng: random.Random, i: int) -> dict[str, Any]:
    address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
    layout = i % 3
    if layout == 0:
        text = (
            "Delivery Status Notification (Failure)\n\n"
            f"アドレス {address} が見つからなかったか、メールを受信できないアドレスであるため、"
            "メールは配信されませんでした。\n\n"
            "The response from the remote server was:\n"
            f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table\n"
        )
    elif layout == 1:
        text = (
            "Hi. This is the qmail-send program at mx.lentrance.com.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            f"<{address}>:\n"
            "Remote host said: 552 5.2.2 Mailbox full\n"
        )
    else:
        text = (
            "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.lentrance.com>\n"
            "Subject: Returned mail: see transcript for details\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n"
            f"<{address}>\n"
            "    (reason: 550 5.7.1 Message rejected as spam by Content Filtering)\n"
        )
    return {"text": text, "address": address, "type": "not_arrived", "name": None, "kind": "bounce"}


def cases() -> list[dict[str, Any]]:
    """The held-out part: about 80 cases, every ticket type and every shape."""
    rng = random.Random(20261207)
    out: list[dict[str, Any]] = []
    kinds = list(TYPE_PHRASES)
    for i in range(36):
        out.append(_prose(rng, kinds[i % len(kinds)], i))
    for i in range(12):
        out.append(_two_addresses(rng, kinds[i % len(kinds)]))
    for i in range(12):
        out.append(_outlook_forward(rng, kinds[i % len(kinds)], i))
    for i in range(6):
        out.append(_desk_export(rng, kinds[i % len(kinds)]))
    for i in range(9):
        out.append(_bounce(rng, i))
    for i, kind in enumerate(kinds):
        address = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
        first, last = LATIN[i % len(LATIN)]
        text = f"Hello, this is {first} {last}. {EN_PHRASES[kind][0]} My email: {address}"
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


#: Written by hand after the reader was built and never used to tune it: tickets as
#: agents paste them, in shapes neither generator writes.
HAND: list[dict[str, Any]] = [
    {
        "text": "いつもお世話になっております。\r\n新規登録をしたところ、確認メールが届いておりません。\r\nアドレスは <h.kobayashi@jcom.zaq.ne.jp> です。\r\n小林",
        "address": "h.kobayashi@jcom.zaq.ne.jp",
        "type": "not_arrived",
        "name": "小林",
        "kind": "prose",
    },
    {
        "text": "メールアドレス：mailto:saki-0707@ezweb.ne.jp\nメールが受信できていません。迷惑メール設定は解除済みです。",
        "address": "saki-0707@ezweb.ne.jp",
        "type": "not_arrived",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "ワタナベユウキです。登録の確認メールが見当たりません。yuki_w@softbank.ne.jp",
        "address": "yuki_w@softbank.ne.jp",
        "type": "not_arrived",
        "name": "ワタナベユウキ",
        "kind": "prose",
    },
    {
        "text": "正しいアドレスはmaki.o@docomo.ne.jpです（先ほどmaki.o@docomo.ne.jと書いてしまいました）。仮登録メールがきません",
        "address": "maki.o@docomo.ne.jp",
        "type": "not_arrived",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "アカウントを削除したあと、同じメールで作り直せますか？\nryo.t@icloud.com\n高田 亮",
        "address": "ryo.t@icloud.com",
        "type": "reregister_after_withdrawal",
        "name": "高田 亮",
        "kind": "prose",
    },
    {
        "text": "Requester: Maria Garcia <maria.g@gmail.com>\nSubject: cannot log in\n\nHello, I reset my password twice but I still can't log in.",
        "address": "maria.g@gmail.com",
        "type": "login_trouble",
        "name": "Maria Garcia",
        "kind": "forwarded",
    },
    {
        "text": "お客さま番号を忘れました。会員登録のときのメールも消してしまいました。\nnao.fujii@yahoo.co.jp\n藤井",
        "address": "nao.fujii@yahoo.co.jp",
        "type": "customer_number",
        "name": "藤井",
        "kind": "prose",
    },
    {
        "text": "Googleでログインする方法で会員になったのですが、その後の案内メールが来ていません。Gmail（keita.h@gmail.com）です。",
        "address": "keita.h@gmail.com",
        "type": "sso_registration",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "新規登録の画面で「既に登録されているメールアドレスです」と表示されます。登録した覚えはありません。 ayumi@nifty.com",
        "address": "ayumi@nifty.com",
        "type": "already_registered",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "私は松本と申します。仮登録のメールが届かないのですが、アドレスに誤りがあったかもしれません。matsumoto.k@docomo。ne.jp",
        "address": "matsumoto.k@docomo。ne.jp",
        "type": "not_arrived",
        "name": "松本",
        "kind": "prose",
    },
    {
        "text": "差出人: 川口 直樹 <n.kawaguchi@ybb.ne.jp>\n送信日時: 2026年12月3日 8:02\n宛先: support@lentrance.com\n件名: ログインできない\n\nパスワードを入力してもログインできません。",
        "address": "n.kawaguchi@ybb.ne.jp",
        "type": "login_trouble",
        "name": "川口 直樹",
        "kind": "forwarded",
    },
    {
        "text": "---------- 転送メッセージ ----------\nFrom: Lentrance <no-reply@lentrance.com>\nDate: 2026/12/02 14:11\nSubject: [Lentrance]会員登録完了のお知らせ\nTo: emi.k@au.com\n\n上のメールに番号が書いてあるはずですがお客様番号が見つかりません",
        "address": "emi.k@au.com",
        "type": "customer_number",
        "name": None,
        "kind": "forwarded",
    },
    {
        "text": "Mail Delivery Subsystem\n\nアドレス tomo.1122@docomo.ne.jp が見つからないか、メールを受信できないアドレスであるため、メールは配信されませんでした。\n\n550 5.1.1 unknown user",
        "address": "tomo.1122@docomo.ne.jp",
        "type": "not_arrived",
        "name": None,
        "kind": "bounce",
    },
    {
        "text": "The following message to <shin@i.softbank.jp> was undeliverable.\nThe reason for the problem:\n5.2.2 - Mailbox full",
        "address": "shin@i.softbank.jp",
        "type": "not_arrived",
        "name": None,
        "kind": "bounce",
    },
    {
        "text": "妻のアドレス（hanae.s@au.com）で登録しましたが、妻のスマホにメールが届きません。夫の鈴木です。連絡は suzuki.t@gmail.com にお願いします。",
        "address": "hanae.s@au.com",
        "type": "not_arrived",
        "name": "鈴木",
        "kind": "prose",
    },
    {
        "text": "退会の手続きをしたのですが、やはりまた使いたいです。同じアドレス ｓｏｒａ＠ｉｃｌｏｕｄ．ｃｏｍ で再登録できますか",
        "address": "ｓｏｒａ＠ｉｃｌｏｕｄ．ｃｏｍ",
        "type": "reregister_after_withdrawal",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "Hello,\nI signed up with my Apple ID but never got any email.\nmy email: ethan.b@icloud.com\nEthan Brown",
        "address": "ethan.b@icloud.com",
        "type": "sso_registration",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "ロックがかかってログインできません。\n登録メール：kei-n@outlook.jp",
        "address": "kei-n@outlook.jp",
        "type": "login_trouble",
        "name": None,
        "kind": "prose",
    },
    {
        "text": "はじめまして、岡田由美子と言います。会員登録のメールが届かず困っています。アドレスは okada.yumiko@biglobe.ne.jp です。",
        "address": "okada.yumiko@biglobe.ne.jp",
        "type": "not_arrived",
        "name": "岡田由美子",
        "kind": "prose",
    },
    {
        "text": "登録アドレスを変更したいです。古いアドレス：old.mail@ocn.ne.jp 新しいアドレス：new.mail@gmail.com　お客様番号もわかりません",
        "address": "new.mail@gmail.com",
        "type": "customer_number",
        "name": None,
        "kind": "prose",
    },
]


def cases_with_hand() -> list[dict[str, Any]]:
    """The generated held-out cases and the hand-written ones."""
    return cases() + HAND
