"""Golden normalization cases: Chinese, English and mixed text come out fully spoken."""

from __future__ import annotations

import re

import pytest

from glmtts.text import TextFrontend

ZH_CASES = [
    ("我有2个苹果和3.5公斤香蕉。", "我有两个苹果和三点五公斤香蕉。"),
    ("2:30开会", "两点三十分开会。"),
    ("时间是14:05:09", "时间是十四点零五分零九秒。"),
    ("比分2:10", "比分二比十。"),
    ("2024-03-15是星期五", "二零二四年三月十五日是星期五。"),
    ("2024/3/15出发", "二零二四年三月十五日出发。"),
    ("1990年代", "一九九零年代。"),
    ("他出生于1998年。", "他出生于一九九八年。"),
    ("10年前", "十年前。"),
    ("第3名", "第三名。"),
    ("价格是$100.5", "价格是一百点五美元。"),
    ("只要¥99", "只要九十九元。"),
    ("温度-10°C", "温度零下十摄氏度。"),
    ("今天最高气温35℃", "今天最高气温三十五摄氏度。"),
    ("减肥5kg", "减肥五千克。"),
    ("速度120km/h", "速度一百二十公里每小时。"),
    ("延迟20ms", "延迟二十毫秒。"),
    ("12.5%的增长", "百分之十二点五的增长。"),
    ("增长10%-20%", "增长百分之十到百分之二十。"),
    ("千分之五写作5‰", "千分之五写作千分之五。"),
    ("3/4的人", "四分之三的人。"),
    ("电话：010-12345678", "电话，零幺零，幺二三四五六七八。"),
    ("手机+86 13800138000", "手机加八六幺三八零零幺三八零零零。"),
    ("QQ号123456789", "qq号一二三四五六七八九。"),
    ("房间号1203室", "房间号一二零三室。"),
    ("编号00123", "编号零零一二三。"),
    ("GPT-4o很强", "gpt四o很强。"),
    ("Wi-Fi密码", "wi fi密码。"),
    ("1,000,000元", "一百万元。"),
    ("3,500人", "三千五百人。"),
    ("共100000000人", "共一亿人。"),
    ("A4纸", "a四纸。"),
    ("5G网络", "五g网络。"),
    ("第100个", "第一百个。"),
    ("20世纪80年代", "二十世纪八十年代。"),
    ("公元前221年", "公元前二百二十一年。"),
    ("周一至周五9:00-18:00营业", "周一至周五九点到十八点营业。"),
    ("2~3天", "二到三天。"),
    ("约3-5年", "约三到五年。"),
    ("1005人", "一千零五人。"),
    ("2500元", "两千五百元。"),
    ("约20000人", "约两万人。"),
    ("共200人", "共二百人。"),
    ("10010元", "一万零一十元。"),
    ("公式x²+y²=z²", "公式x平方加y平方等于z平方。"),
    ("如果x≥1且y≤2", "如果x大于等于一且y小于等于二。"),
    ("算式3×4=12", "算式三乘四等于十二。"),
    ("算式5-3=2", "算式五减三等于二。"),
    ("α粒子和β射线", "阿尔法粒子和贝塔射线。"),
    ("步骤①完成", "步骤一完成。"),
    ("我的邮箱是test@example.com", "我的邮箱是test艾特example点com。"),
    ("今天，天气很好！！你觉得呢？？", "今天，天气很好。你觉得呢?"),
    ("他说：“我明天就走。”", "他说，我明天就走。"),
    ("我喜欢苹果、香蕉", "我喜欢苹果，香蕉。"),
    ("《三体》很好看", "三体很好看。"),
    ("太好了……", "太好了。"),
    ("真的吗？", "真的吗?"),
    ("哈哈😂好笑", "哈哈好笑。"),
    ("１２３个", "一百二十三个。"),
    ("1. 打开设置\\n2. 点击通用", "一。打开设置。二。点击通用。"),
    ("第一行\n\n第二行", "第一行。第二行。"),
    ("价格：12.50元/斤", "价格，十二点五零元每斤。"),
    ("温度在-5℃~5℃之间", "温度在零下五摄氏度到五摄氏度之间。"),
    ("请在10:00~12:00之间来", "请在十点到十二点之间来。"),
    ("C#语言", "c sharp语言。"),
    ("好的~", "好的。"),
    ("它是No.1的语言", "它是第一的语言。"),
    ("2024-2025赛季", "二零二四到二零二五赛季。"),
    ("90后和00后", "九零后和零零后。"),
    ("他10分钟后回来", "他十分钟后回来。"),
    ("比分3-2", "比分三比二。"),
    ("我的手机是138 0013 8000", "我的手机是幺三八零零幺三八零零零。"),
    ("1998年到2000年", "一九九八年到二零零零年。"),
    ("视频分辨率1920x1080", "视频分辨率一千九百二十乘一千零八十。"),
    ("下载速度10MB/s", "下载速度十兆字节每秒。"),
    ("放大10x", "放大十倍。"),
    ("身高180cm，体重70kg", "身高一百八十厘米，体重七十千克。"),
    ("今天是2024年3月15日（星期五）", "今天是二零二四年三月十五日星期五。"),
    ("1+1=2是对的", "一加一等于二是对的。"),
    ("他花了1/3的时间", "他花了三分之一的时间。"),
    ("100000000000000000000000元", "一" + "零" * 23 + "元。"),
]

EN_CASES = [
    ("It costs €20.", "it costs twenty euros."),
    ("It's 3.14159.", "it's three point one four one five nine."),
    ("I have 2 cats and 1 dog.", "i have two cats and one dog."),
    ("The 1990s were great.", "the nineteen nineties were great."),
    ("In 1999, she left.", "in nineteen ninety nine, she left."),
    ("The meeting is at 3:00 pm.", "the meeting is at three pm."),
    ("Wake me at 7:05.", "wake me at seven oh five."),
    ("On 2021-03-05 we met.", "on the fifth of march, twenty twenty one we met."),
    ("5 km away", "five kilometers away."),
    ("He ran 10km.", "he ran ten kilometers."),
    ("Version 2.0 is out.", "version two point zero is out."),
    ("It's 50% off!!!", "it's fifty percent off."),
    ("Temperature is 25°C.", "temperature is twenty five degrees celsius."),
    ("I'm 6 ft tall.", "i'm six feet tall."),
    ("1/4 of people", "one quarter of people."),
    ("Room 101", "room one hundred and one."),
    ("The year 2000.", "the year two thousand."),
    ("He's No. 1.", "he's number one."),
    ("Call No.5 now.", "call number five now."),
    ("No. I won't go.", "no. i won't go."),
    ("Mr. Smith & Mrs. Jones", "mister smith and missus jones."),
    ("x = y + 2", "x equals y plus two."),
    ("5-3=2", "five minus three equals two."),
    ("1e5", "one times ten to the power of five."),
    ("COVID-19 pandemic", "covid nineteen pandemic."),
    ("e.g. apples", "for example apples."),
    ("MP3 player", "mp three player."),
    ("It costs $1.01.", "it costs one dollar and one cent."),
    ("We raised $2.5 million.", "we raised two point five million dollars."),
    ("She was born on July 4, 1990.", "she was born on the fourth of july, nineteen ninety."),
    ("The 21st century", "the twenty first century."),
    ("Pages 10-20", "pages ten to twenty."),
    ("Visit www.example.com", "visit www dot example dot com."),
    ("Hello, world", "hello, world."),
    ("Is it true?", "is it true?"),
    ("-5 degrees", "minus five degrees."),
    (
        "12345678901234567890",
        "one two three four five six seven eight nine zero " * 1
        + "one two three four five six seven eight nine zero.",
    ),
    ("I code in C#.", "i code in c sharp."),
    (
        "The U.S. economy grew 2.3% in Q2 2024.",
        "the u s economy grew two point three percent in q two twenty twenty four.",
    ),
    ("He's 6'2\" tall.", "he's six feet two inches tall."),
    ("The ratio is 16:9.", "the ratio is sixteen to nine."),
    ("Mr. and Mrs. Smith live on Baker St.", "mister and missus smith live on baker street."),
    ("St. Louis is nice.", "saint louis is nice."),
    ("Use 1.5x speed.", "use one point five times speed."),
    ("Hello… is anyone there?", "hello. is anyone there?"),
    ("The year is 1066.", "the year is ten sixty six."),
    ("Meet at 5 p.m. in the U.K.", "meet at five pm in the u k."),
    ("50 mph", "fifty miles per hour."),
    ("3rd place, 22nd floor", "third place, twenty second floor."),
    ("2/3 of the cake", "two thirds of the cake."),
    ("£50 and ¥100", "fifty pounds and one hundred yuan."),
    ("***", ""),
    ("I paid $25.99 for 3 books.", "i paid twenty five dollars and ninety nine cents for three books."),
]

MIXED_CASES = [
    ("我用iPhone 15 Pro Max拍照", "我用iphone十五pro max拍照。"),
    ("这个API的QPS达到了3.5万", "这个api的qps达到了三点五万。"),
    ("第一是Q3的目标", "第一是q三的目标。"),
    ("我在用Windows 11", "我在用windows十一。"),
    ("打开Wi-Fi和Bluetooth", "打开wi fi和bluetooth。"),
    ("这款手机有8GB内存", "这款手机有八吉字节内存。"),
    ("他说：I have 3 apples and 2 oranges.然后走了", "他说，i have three apples and two oranges。然后走了。"),
    ("老师说 the answer is 42，对吗", "老师说the answer is forty two，对吗。"),
]


@pytest.mark.parametrize(("raw", "expected"), ZH_CASES + EN_CASES + MIXED_CASES)
def test_normalize_golden(frontend: TextFrontend, raw: str, expected: str) -> None:
    assert frontend.normalize(raw) == expected


@pytest.mark.parametrize(("raw", "_expected"), ZH_CASES + EN_CASES + MIXED_CASES)
def test_normalized_text_has_no_digits_or_symbols(frontend: TextFrontend, raw: str, _expected: str) -> None:
    normalized = frontend.normalize(raw)
    assert not re.search(r"[0-9%$€¥£@&+=<>²³℃°/]", normalized)


def test_normalize_is_deterministic(frontend: TextFrontend) -> None:
    text = "2024年3月15日，价格¥199.50，增长25%。I paid $25.99 at 10:45 a.m."
    assert len({frontend.normalize(text) for _ in range(3)}) == 1


@pytest.mark.parametrize("raw", ["", "   ", "！！！", "……", "😀👍", "\n\n"])
def test_unspeakable_text_normalizes_to_nothing(frontend: TextFrontend, raw: str) -> None:
    assert frontend.normalize(raw) == ""
