#!/usr/bin/env python3
"""Writes crates/core/data/demo.jsonl, textrnn's embedded demo corpus.

Every phrase below was written for textrnn; nothing is taken from a dataset.
Each text joins a subject, an event and a detail of one topic, so the corpus
has real topical signal with varied wording. 6 topics x (36 English + 36
Chinese) = 432 labeled texts. Run: python3 scripts/make_demo_corpus.py
"""
import json
import random
from pathlib import Path

TOPICS = {
    "sports": {
        "en": (
            ["The home team", "Our striker", "The young goalkeeper", "The national basketball squad", "The tennis champion",
             "The marathon runner", "The coach", "The league leaders", "The visiting side", "The NBA rookie", "The swimmer", "The captain"],
            ["scored twice in the second half", "won the final after extra time", "lost the match on penalties",
             "broke the world record at the stadium", "signed a new contract with the club", "was injured during training",
             "made a stunning save in the last minute", "led the team to the championship", "missed the game with a knee injury",
             "beat the defending champions", "qualified for the Olympic games", "hit a three-pointer at the buzzer"],
            ["and the fans celebrated all night.", "in front of a full stadium.", "before the playoffs begin.",
             "according to the referee's report.", "in the season opener.", "and the coach praised the defense."],
        ),
        "zh": (
            ["主队", "我们的前锋", "年轻的守门员", "国家篮球队", "网球冠军", "马拉松选手", "主教练", "联赛领头羊", "客队", "NBA新秀", "游泳名将", "队长"],
            ["下半场梅开二度", "加时赛后赢得决赛", "点球大战输掉比赛", "在体育场打破世界纪录", "与俱乐部续签合同", "训练中受伤",
             "最后一分钟做出精彩扑救", "带领球队夺得冠军", "因膝伤缺席比赛", "击败卫冕冠军", "获得奥运会参赛资格", "终场前投进三分球"],
            ["球迷彻夜庆祝。", "现场座无虚席。", "季后赛即将开始。", "裁判报告如此记录。", "赛季揭幕战上。", "教练称赞了防守。"],
        ),
    },
    "technology": {
        "en": (
            ["The new smartphone", "The software update", "The startup's AI model", "The latest laptop", "The open source project",
             "The cloud platform", "The chip maker", "The search engine", "The new operating system", "The robot vacuum",
             "The programming language", "The data center"],
            ["ships with a faster processor", "fixes a serious security bug", "can now translate speech in real time",
             "doubles the battery life", "released version two of its framework", "suffered an outage for three hours",
             "uses a new neural network to recognize images", "adds support for Python and Rust developers",
             "stores user data with end-to-end encryption", "runs large language models on the device",
             "cut memory usage by half", "lets users install apps from the command line"],
            ["according to the engineers.", "in the beta version.", "and the code is on GitHub.", "starting next month.",
             "reviewers said.", "for all Android and iPhone users."],
        ),
        "zh": (
            ["新款智能手机", "软件更新", "创业公司的AI模型", "最新款笔记本电脑", "开源项目", "云计算平台", "芯片制造商", "搜索引擎",
             "新操作系统", "扫地机器人", "编程语言", "数据中心"],
            ["搭载了更快的处理器", "修复了严重的安全漏洞", "可以实时翻译语音", "电池续航提升一倍", "发布了框架的第二版", "宕机三个小时",
             "用新的神经网络识别图像", "支持Python和Rust开发者", "用端到端加密保存用户数据", "在设备上运行大语言模型", "内存占用减少一半",
             "支持从命令行安装应用"],
            ["工程师介绍说。", "目前处于测试版。", "代码已在GitHub开源。", "下个月正式上线。", "评测人员表示。", "安卓和苹果用户都能使用。"],
        ),
    },
    "finance": {
        "en": (
            ["The central bank", "The stock market", "The company's shares", "Investors", "The bond yield", "The bank",
             "Oil prices", "The tech giant", "The currency", "Analysts", "The IPO", "The hedge fund"],
            ["raised interest rates by a quarter point", "fell sharply after the earnings report", "reported record quarterly profit",
             "worried about rising inflation", "climbed to a ten-year high", "cut its growth forecast for the economy",
             "dropped as demand slowed", "announced a share buyback", "weakened against the dollar", "expect a recession next year",
             "raised two billion dollars from investors", "posted a loss on its trading desk"],
            ["on Wall Street today.", "as GDP growth slowed.", "in the third quarter.", "according to the annual report.",
             "before the market closed.", "and trading volume surged."],
        ),
        "zh": (
            ["央行", "股市", "公司股价", "投资者", "债券收益率", "银行", "油价", "科技巨头", "人民币汇率", "分析师", "这次IPO", "对冲基金"],
            ["加息二十五个基点", "财报发布后大幅下跌", "季度利润创历史新高", "担心通胀上升", "升至十年来最高", "下调经济增长预期",
             "因需求放缓而下跌", "宣布回购股票", "对美元走弱", "预计明年经济衰退", "募集二十亿元资金", "交易部门出现亏损"],
            ["今日A股收盘时。", "GDP增速放缓之际。", "第三季度。", "年报显示。", "收盘前。", "成交量大幅放大。"],
        ),
    },
    "food": {
        "en": (
            ["This noodle shop", "The new bakery", "My grandmother's dumpling recipe", "The spicy hot pot", "The chef",
             "The vegetarian restaurant", "This chocolate cake", "The street food market", "The coffee", "The sushi bar",
             "Our home-made soup", "The pizza place"],
            ["uses fresh tomatoes and garlic", "serves the best fried rice in town", "needs two hours of slow cooking",
             "tastes sweet and a little sour", "adds chili oil and pepper to every dish", "bakes bread every morning",
             "was too salty for my taste", "puts fresh basil on the pasta", "makes delicious beef noodles",
             "is rich with butter and cream", "steams the fish with ginger", "offers a new dessert menu"],
            ["and the portions are generous.", "for dinner tonight.", "in the kitchen.", "with a cup of tea.",
             "so add sugar slowly.", "and the recipe is simple."],
        ),
        "zh": (
            ["这家面馆", "新开的面包店", "奶奶的饺子做法", "麻辣火锅", "厨师", "素食餐厅", "这块巧克力蛋糕", "小吃街", "咖啡", "寿司店", "自家煲的汤", "披萨店"],
            ["用新鲜番茄和大蒜", "做的炒饭全城最好吃", "需要小火慢炖两个小时", "味道酸甜可口", "每道菜都加辣椒油和花椒", "每天早上现烤面包",
             "对我来说太咸了", "在意面上放新鲜罗勒", "做的牛肉面很好吃", "加了很多黄油和奶油", "用姜清蒸鱼", "推出了新的甜点菜单"],
            ["分量很足。", "今晚的晚餐。", "在厨房里。", "配一杯茶。", "糖要慢慢加。", "做法很简单。"],
        ),
    },
    "health": {
        "en": (
            ["The doctor", "The new vaccine", "Regular exercise", "The hospital", "A good night's sleep", "The patient",
             "The flu", "The nurse", "The clinical trial", "Drinking water", "The medicine", "Stress"],
            ["lowers the risk of heart disease", "protects children against the virus", "helps control blood pressure",
             "opened a new cancer treatment center", "improves memory and mood", "recovered quickly after surgery",
             "spread quickly this winter", "checks the symptoms of diabetes", "showed the drug reduced infections",
             "keeps the kidneys healthy", "may cause headaches and fever", "weakens the immune system"],
            ["according to medical research.", "so see a doctor early.", "in older adults.", "the health ministry said.",
             "and the side effects are mild.", "during the epidemic."],
        ),
        "zh": (
            ["医生", "新疫苗", "规律运动", "医院", "充足的睡眠", "病人", "流感", "护士", "临床试验", "多喝水", "这种药", "压力"],
            ["降低心脏病风险", "保护儿童免受病毒感染", "有助于控制血压", "开设了新的癌症治疗中心", "改善记忆和情绪", "手术后恢复很快",
             "今年冬天传播很快", "检查糖尿病症状", "显示药物减少了感染", "保持肾脏健康", "可能引起头痛和发烧", "削弱免疫系统"],
            ["医学研究表明。", "应尽早就医。", "在老年人中。", "卫生部门表示。", "副作用较轻。", "疫情期间。"],
        ),
    },
    "travel": {
        "en": (
            ["The flight to Tokyo", "Our hotel", "The beach resort", "The train to the mountains", "The old town",
             "The tour guide", "The museum", "The cruise ship", "The airport", "Backpackers", "The national park", "The visa office"],
            ["was delayed for four hours", "has a view of the sea", "offers cheap tickets in spring", "passes through beautiful valleys",
             "is full of tourists in summer", "showed us the ancient temple", "opens late on weekends", "sails along the coast",
             "added new routes to Europe", "booked a hostel near the station", "has hiking trails and waterfalls",
             "now issues travel visas online"],
            ["during the holiday.", "so pack your passport.", "and the sunset was amazing.", "for the whole family.",
             "on our trip last year.", "and the luggage arrived late."],
        ),
        "zh": (
            ["飞往东京的航班", "我们住的酒店", "海滨度假村", "去山区的火车", "古城", "导游", "博物馆", "游轮", "机场", "背包客", "国家公园", "签证中心"],
            ["延误了四个小时", "可以看到大海", "春季有特价机票", "穿过美丽的山谷", "夏天挤满了游客", "带我们参观了古寺", "周末开放到很晚",
             "沿着海岸航行", "新增了飞往欧洲的航线", "在车站附近订了青旅", "有徒步小路和瀑布", "现在可以在网上办签证"],
            ["假期期间。", "记得带护照。", "日落美极了。", "适合全家出游。", "去年旅行时。", "行李到得很晚。"],
        ),
    },
}

PER_LANGUAGE = 36


def main():
    rng = random.Random(20261127)
    rows = []
    for topic, langs in TOPICS.items():
        for lang, (subjects, events, details) in langs.items():
            seen = set()
            while len(seen) < PER_LANGUAGE:
                i = len(seen)
                s = subjects[i % len(subjects)]
                e = events[(i * 5 + rng.randrange(len(events))) % len(events)]
                d = rng.choice(details)
                text = f"{s} {e} {d}" if lang == "en" else f"{s}{e}，{d}"
                if text not in seen:
                    seen.add(text)
                    rows.append({"text": text, "label": topic, "lang": lang})
    rng.shuffle(rows)
    out = Path(__file__).resolve().parent.parent / "crates/core/data/demo.jsonl"
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} texts to {out}")


if __name__ == "__main__":
    main()
