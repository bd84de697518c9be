"""Handwritten ``out_of_scope`` items: the documents do not answer these; the assistant must abstain.

Besides plainly unrelated questions (weather, recipes, stock prices), many are near-misses on the
plan's own vocabulary: they mention real measures or systems but ask for something the plan does
not contain (budgets, passwords, vendor names, other editions, other countries' plans).
"""

from itemlib import OOS

ITEMS = [
    OOS("明日の東京の天気を教えてください", fast=True),
    OOS("カレーライスの作り方を教えて"),
    OOS("NTTの今日の株価はいくらですか？"),
    OOS("2030年版の重点計画ではどんな施策が予定されていますか", fast=True),
    OOS("2026年に改定された重点計画で新しく追加された施策は何ですか"),
    OOS("韓国のデジタル政府計画の重点施策を教えてください"),
    OOS("エストニアの電子政府（e-Residency）と比べて日本の計画はどう違う？"),
    OOS("No. 1-57 の施策の予算額はいくらですか？", fast=True),
    OOS("ガバメントクラウドに採用されているクラウド事業者の社名を全部教えて", fast=True),
    OOS("マイナンバーカードの暗証番号を忘れた場合の再設定手順を教えてください"),
    OOS("マイナポイントは何円分もらえますか"),
    OOS("ふるさと納税の控除上限額はどうやって計算しますか"),
    OOS("GビズIDのパスワードを忘れたので再発行の方法を教えて"),
    OOS("デジタル庁の職員採用試験の倍率は？"),
    OOS("おすすめの生成AIサービスはどれですか？ChatGPTとどっちがいい？"),
    OOS("うちの市役所の窓口は土曜日も開いていますか"),
    OOS("現在のデジタル大臣は誰ですか"),
    OOS("プロ野球の今年の日本シリーズはどこが優勝した？"),
    OOS("What will the weather be like in Osaka this weekend?", fast=True),
    OOS("今回の重点計画の案に対するパブリックコメントは何件寄せられましたか"),
]
