"""Handwritten ``conversation`` items: multi-turn conversations asked live.

``prior_turns`` holds 1-2 earlier user questions; the runner asks them first and the assistant's
own answers become the history, then ``question`` (the final turn) is asked. Expected measures,
facts and evidence are for the final turn. Kinds: a topic shift that keeps the field, ordinals
against the user's own naming (「前者」「2つ目」), "similar but in another field", ellipsis
(「担当は？」「いつまでに？」), pronouns (「それの工程表」) and a follow-up with its own content words
about the measure just discussed.
"""

from itemlib import Q

C = "conversation"

ITEMS = [
    # topic shift keeping the field (学校)
    Q(C, "では、校務システムのほうの目標は？", ["2-1", "2-2"], acc=["3-69", "2-5"],
      facts=["2029年度", "100%"], fast=True,
      prior_turns=["学校の校内ネットワークはいつまでに整備する目標になっていますか"],
      ev="次世代の校務システムを導入済みの自治体の割合：2029年度100%"),
    # topic shift keeping the field (災害情報の伝達)
    Q(C, "じゃあJアラートについての目標は？", ["3-31"], acc=["3-30"],
      facts=["複数整備", "全国一斉情報伝達試験"],
      prior_turns=["Lアラートのシステムの安定性を上げるのはいつまでの目標？"],
      ev="全ての市区町村において、全国瞬時警報システム（Jアラート）と連携する情報伝達手段を複数整備する。"),
    # ordinal against the user's own naming
    Q(C, "2つ目のほうはいつ運用が始まる予定？", ["1-35"], acc=["1-16"],
      facts=["2030年代半ば"],
      prior_turns=["高速道路のETC専用化と、自動物流道路の構築、この二つの施策について教えて"],
      ev="2027年度までの実験実施、2030年代半ばまでの第1期区間での運用開始"),
    Q(C, "前者について、計画にはどんな目標が書かれていますか", ["1-58"], acc=["1-72", "1-73"],
      facts=["2年以内"],
      prior_turns=["在留カードとマイナンバーカードの一体化、それと運転免許証との一体化、それぞれどんな施策か概要を知りたい"],
      ev="マイナンバーカードと在留カードの一体化について、改正法の公布後2年以内の施行に向けて、関係省庁とともに政省令やシステム等を整備する。"),
    Q(C, "1つ目の取組はいつ全国に広げる予定？", ["3-57"], acc=["1-60"],
      facts=["2026年度以降"],
      prior_turns=["里帰り出産する妊産婦への支援と、放課後児童クラブのDX、どちらもこども家庭庁の担当ですか？"],
      ev="里帰り先自治体と住民票所在地自治体の間で母子保健情報がスムーズに共有され、切れ目のない支援を提供可能とするとともに、里帰りした場合の煩雑な手続きが改善される。"),
    # similar but in another field
    Q(C, "同じような海外との協力を、AIの分野でやっている施策もある？", ["1-5", "5-4"], acc=["1-3", "1-1", "2-48"],
      facts=["広島AIプロセス"],
      prior_turns=["サイバーセキュリティの分野で外国の機関と協力している施策を教えて"],
      ev="2024年7月に我が国におけるアジア地域初のGPAI東京専門家支援センターがNICTに設置された。"),
    Q(C, "それと似たようなオープンデータ化で、防災分野のものは？", ["3-1", "3-36"],
      acc=["2-22", "3-27", "3-28", "2-21"], facts=["災害リスク情報"], fast=True,
      prior_turns=["農地の区画データを誰でも使えるように公開している施策はどれ？"],
      ev="災害リスク情報（洪水・高潮、津波、土砂災害など）については、WebGISにて提供できる形式のデータ整備が多くないのが課題。"),
    # ellipsis
    Q(C, "そのシステムはいつまでに作る予定？", ["3-76"], acc=["3-95"],
      facts=["2027年度末"],
      prior_turns=["違法に獲られた水産物が流通しないようにするための電子化の施策ってありますか"],
      ev="電子署名にも対応できる汎用性の高いシステムの構築（2027年度末）"),
    Q(C, "担当している省庁は？", ["3-7"], facts=["国土交通省"],
      prior_turns=["空き家の所有者探しをデジタルで楽にする施策はある？", "そのデータベースはいつから動き出すの？"],
      ev="自治体間の情報交換や統計・分析に基づく新たな政策立案や民間事業者の創意工夫を促す。主担当府省庁：国土交通省"),
    # pronoun
    Q(C, "それの工程表にはどんな段階が並んでいますか", ["3-84"], acc=["3-83"],
      facts=["各府省システムとの接続"],
      prior_turns=["政府職員のIDを各省でまとめて管理する基盤の施策について教えて"],
      ev="2026年度中に職員ID基盤の基本機能の設計・開発を完了し、デジタル庁の政府職員を対象に先行する情報システムで利用を目指す。"),
    # follow-up with its own content words about the measure just discussed
    Q(C, "紙の教科書はなくなるの？併用はどうなってる？", ["3-68"], facts=["併用"],
      prior_turns=["学習者用のデジタル教科書の導入について教えてください"],
      ev="当面の間は、紙の教科書との併用を前提とした上で、2024年度から全国全ての小中学校等を対象に学習者用デジタル教科書を段階的に導入した。"),
    Q(C, "代理申請の機能はいつ改善されますか", ["1-85"], acc=["1-82"],
      facts=["2025年度中"],
      prior_turns=["補助金の電子申請システムのJグランツについて教えて", "掲載する補助金の数の目標は？"],
      ev="2025年度中に代理申請機能の改善、事業者口座登録機能、補助金・交付金等の網羅的な検索機能を整備する。"),
]
