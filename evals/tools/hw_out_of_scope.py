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
    # --- topics the five documents never mention ------------------------------------------------
    OOS("iPhone 16とPixel 9、カメラの性能がいいのはどっち？", fast=True),
    OOS("シンガポールのスマートネーション構想の主な取組を教えてください"),
    OOS("大谷翔平選手は今シーズン何本ホームランを打っていますか"),
    OOS("インフルエンザの予防接種って毎年打ったほうがいい？副反応が心配で…"),
    OOS("隣の家が境界線ぎりぎりに塀を建ててきました。撤去を求めて訴えることはできますか？"),
    OOS("Who won the Tour de France in 2024?"),
    OOS("腰痛　整形外科　整骨院　どっち"),
    OOS("確定申告ソフトのおすすめを教えて。freeeと弥生ならどっちが使いやすい？"),
    OOS("台湾のデジタル発展部はどんな組織で、いつ発足しましたか"),
    # --- near-misses in plan vocabulary: the plan does not state the asked fact -------------------
    OOS("マイナ保険証の利用を広げるために、国はいくら予算をつけているの？", fast=True),
    OOS("マイナ保険証の利用率って今何％くらい？"),
    OOS("J-LISの理事長の名前を教えてください", fast=True),
    OOS("各府省に置かれたAI統括責任者（CAIO）、デジタル庁では誰が就任しましたか"),
    OOS("自治体の標準準拠システム、いちばんシェアが大きいベンダーはどこ？"),
    OOS("マイナポータルに今ログインできないんですが、障害が発生していますか？"),
    OOS("ふるさと住民登録制度はいつから登録の受付が始まりますか？"),
    OOS("2023年6月に閣議決定された重点計画の主なポイントを教えてください", fast=True),
    OOS("福岡県内で「書かないワンストップ窓口」を導入済みの市町村はどこですか"),
    OOS("マイナンバーカードをなくして再発行してもらうとき、手数料はいくら？"),
    OOS("How much money has the government spent so far on moving local government systems to the Government Cloud?", fast=True),
    OOS("Jグランツでこれまでに申請された補助金の累計件数は何件ですか"),
    OOS("新総合防災情報システム（SOBO-WEB）を開発した会社はどこですか"),
    OOS("東京都の018サポートって一人あたりいくらもらえるの？"),
    OOS("デジタル行財政改革会議、次はいつ開かれる予定ですか"),
    # --- added later: near-misses in plan vocabulary the plan does not answer -----------------------
    OOS("CYNEXに参画している企業や大学の一覧を見せてください"),
    OOS("放射線モニタリングプラットフォームはどこのクラウド事業者のサービスで動いてるの？"),
    OOS("ガボットの月間の利用件数、最新の数字を教えて"),
    OOS("ガバメントクラウドの利用料の大口割引って、具体的に何％引きになるんですか"),
    OOS("電子処方箋の導入率がいちばん高い都道府県はどこ？"),
    OOS("次期マイナンバーカードでは、券面から性別の記載はなくなるんですか"),
    OOS("災害派遣デジタル支援チームに民間人として登録したいです。応募の締切はいつ？"),
    OOS("e-Radの次期システムはどこのベンダーが受注したの？"),
    OOS("ふるさと住民登録のアプリ、名前とダウンロード先を教えてください"),
    OOS("北海道旭川市は標準準拠システムへの移行がもう終わっていますか", fast=True),
    OOS("特許事務システムの刷新にかかった総事業費はいくら？"),
    OOS("AIセーフティ・インスティテュート（AISI）の所長は誰ですか"),
    OOS("デジタル庁の令和8年度概算要求の総額はいくら？"),
    OOS("JC-STARのラベルを取るための審査手数料はいくらかかりますか"),
    OOS("RESAS Portalでいちばん閲覧されている自治体のページはどこ？"),
    # --- added later: plainly unrelated -------------------------------------------------------
    OOS("新宿から羽田空港まで一番早く行く方法は？"),
    OOS("子どもが38度の熱を出したけど、市販の解熱剤を飲ませても大丈夫？"),
    OOS("京都で紅葉がきれいな穴場スポットを教えて"),
    OOS("来週のドル円相場はどうなると思いますか"),
    OOS("What's a good recipe for miso soup?"),
]
