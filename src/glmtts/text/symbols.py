"""Spoken forms of units, math signs and Greek letters (Chinese and English)."""

from __future__ import annotations

UNITS_ZH: dict[str, str] = {
    "km/h": "公里每小时", "m/s": "米每秒", "MB/s": "兆字节每秒", "KB/s": "千字节每秒", "GB/s": "吉字节每秒",
    "Mbps": "兆比特每秒", "Gbps": "吉比特每秒", "kbps": "千比特每秒", "fps": "帧每秒", "kWh": "千瓦时", "mAh": "毫安时",
    "km²": "平方公里", "m²": "平方米", "cm²": "平方厘米", "m³": "立方米",
    "km": "公里", "cm": "厘米", "mm": "毫米", "nm": "纳米", "μm": "微米", "m": "米",
    "kg": "千克", "mg": "毫克", "g": "克", "t": "吨",
    "ml": "毫升", "mL": "毫升", "L": "升",
    "ms": "毫秒", "min": "分钟", "s": "秒", "h": "小时",
    "GHz": "吉赫兹", "MHz": "兆赫兹", "kHz": "千赫兹", "Hz": "赫兹",
    "TB": "太字节", "GB": "吉字节", "MB": "兆字节", "KB": "千字节", "kb": "千比特",
    "kW": "千瓦", "W": "瓦", "V": "伏", "dB": "分贝", "mmHg": "毫米汞柱",
    "°": "度",
}  # fmt: skip

UNITS_EN: dict[str, tuple[str, str]] = {
    "km/h": ("kilometer per hour", "kilometers per hour"), "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"), "MB/s": ("megabyte per second", "megabytes per second"),
    "Mbps": ("megabit per second", "megabits per second"), "Gbps": ("gigabit per second", "gigabits per second"),
    "fps": ("frame per second", "frames per second"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "mAh": ("milliamp hour", "milliamp hours"),
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "nm": ("nanometer", "nanometers"), "m": ("meter", "meters"), "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "kg": ("kilogram", "kilograms"), "mg": ("milligram", "milligrams"), "g": ("gram", "grams"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"), "L": ("liter", "liters"),
    "ms": ("millisecond", "milliseconds"), "min": ("minute", "minutes"), "sec": ("second", "seconds"),
    "s": ("second", "seconds"), "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "GHz": ("gigahertz", "gigahertz"), "MHz": ("megahertz", "megahertz"), "kHz": ("kilohertz", "kilohertz"),
    "Hz": ("hertz", "hertz"),
    "TB": ("terabyte", "terabytes"), "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes"),
    "KB": ("kilobyte", "kilobytes"), "kW": ("kilowatt", "kilowatts"), "W": ("watt", "watts"),
    "V": ("volt", "volts"), "dB": ("decibel", "decibels"),
    "°C": ("degree celsius", "degrees celsius"), "℃": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"), "℉": ("degree fahrenheit", "degrees fahrenheit"),
    "°": ("degree", "degrees"),
}  # fmt: skip

MATH_SYMBOLS_ZH: dict[str, str] = {
    "+": "加", "=": "等于", ">": "大于", "<": "小于", "≥": "大于等于", "≤": "小于等于", "≠": "不等于",
    "≈": "约等于", "±": "正负", "×": "乘", "÷": "除以", "*": "乘", "√": "根号", "∞": "无穷大",
    "∈": "属于", "∑": "求和", "∵": "因为", "∴": "所以", "∠": "角", "△": "三角形", "%": "百分号",
}  # fmt: skip

MATH_SYMBOLS_EN: dict[str, str] = {
    "+": "plus", "=": "equals", ">": "greater than", "<": "less than", "≥": "greater than or equal to",
    "≤": "less than or equal to", "≠": "not equal to", "≈": "approximately", "±": "plus or minus",
    "×": "times", "÷": "divided by", "*": "multiply", "√": "square root of", "∞": "infinity",
    "&": "and", "@": "at", "%": "percent",
}  # fmt: skip

GREEK_ZH: dict[str, str] = {
    "α": "阿尔法", "β": "贝塔", "γ": "伽马", "δ": "德尔塔", "ε": "艾普西隆", "ζ": "泽塔", "η": "伊塔",
    "θ": "西塔", "λ": "兰姆达", "μ": "缪", "ξ": "克西", "π": "派", "ρ": "肉", "σ": "西格玛", "τ": "套",
    "φ": "斐", "χ": "卡", "ψ": "普赛", "ω": "欧米伽", "Δ": "德尔塔", "Σ": "西格玛", "Ω": "欧米伽",
    "Φ": "斐", "Π": "派", "Λ": "兰姆达", "Θ": "西塔", "Γ": "伽马",
}  # fmt: skip

GREEK_EN: dict[str, str] = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "θ": "theta", "λ": "lambda",
    "μ": "mu", "π": "pi", "σ": "sigma", "φ": "phi", "ω": "omega", "Δ": "delta", "Σ": "sigma", "Ω": "omega",
}  # fmt: skip
