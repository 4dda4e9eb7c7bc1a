"""Stores, distribution centres and users of the demo world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

STORE_COLUMNS = [
    "code", "name", "city", "city_zh", "province", "city_tier", "market", "currency", "timezone",
    "partnership", "status", "opened_on", "size_class", "dc_code",
]
USER_COLUMNS = ["email", "name", "role", "store_code", "brand_code", "language"]

DCS = pd.DataFrame({
    "code": ["DC-SH", "DC-BJ", "DC-GZ", "DC-CD", "DC-WH", "DC-HK"],
    "name": ["Shanghai Qingpu DC", "Beijing Daxing DC", "Guangzhou Huangpu DC", "Chengdu Shuangliu DC",
             "Wuhan Dongxihu DC", "Hong Kong Kwai Chung DC"],
    "city": ["Shanghai", "Beijing", "Guangzhou", "Chengdu", "Wuhan", "Hong Kong"],
    "market": ["CN", "CN", "CN", "CN", "CN", "HK"],
    "currency": ["CNY", "CNY", "CNY", "CNY", "CNY", "HKD"],
    "timezone": ["Asia/Shanghai"] * 5 + ["Asia/Hong_Kong"],
})

MALLS_CN = ["万达广场", "万象城", "大悦城", "银泰城", "龙湖天街", "吾悦广场", "印象城", "来福士", "凯德广场",
            "K11", "太古里", "环球港", "宝龙广场", "天虹", "王府井", "步行街", "苏宁广场", "中心城", "奥特莱斯",
            "恒隆广场", "IFS", "SKP", "新世界", "砂之船"]
MALLS_HK = ["銅鑼灣時代廣場", "旺角朗豪坊", "尖沙咀海港城", "九龍塘又一城", "沙田新城市廣場", "觀塘APM",
            "中環IFC", "荃灣廣場", "屯門市廣場", "將軍澳PopCorn"]
STORE_KIND = {"L": "旗舰店", "M": "体验店", "S": "专卖店"}
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "霞", "平", "刚", "桂英", "晨", "雪", "浩然", "子涵", "欣怡", "宇轩", "思远", "佳琪", "嘉欣", "俊杰"]
EN_FIRST = ["Alex", "Chris", "Jamie", "Sam", "Taylor", "Jordan", "Morgan", "Casey", "Kelly", "Ryan", "Grace",
            "Ivy", "Kevin", "Vivian", "Eric", "Winnie"]
EN_LAST = ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Ho", "Leung", "Tang", "Yip", "Smith", "Brown"]


@dataclass
class StoreDynamics:
    """What the simulation needs to know about each store, in store order."""

    size: np.ndarray          # relative demand level (1 = typical mainland store)
    open_day: np.ndarray      # day index of opening (negative: before the history)
    stop_day: np.ndarray      # day index from which the store neither sells nor reorders (D if never)
    closes: np.ndarray        # True when stock goes back to the DC on stop_day
    transit_days: np.ndarray  # DC to store
    review_weekday: np.ndarray
    review_weeks: np.ndarray  # 1: weekly review, 2: fortnightly


def build_stores(
    cities: pd.DataFrame, n_stores: int, start: date, days: int, rng: np.random.Generator,
    opening_share: float = 0.15,
):
    """Stores spread over cities by weight; codes S0001... in order of opening.

    `opening_share` of the stores open during the history, the rest before it.
    """
    share = cities["weight"].to_numpy(float) * n_stores / cities["weight"].sum()
    counts = np.floor(share).astype(int)
    rest = n_stores - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    city_idx = np.repeat(np.arange(len(cities)), counts)
    city = cities.iloc[city_idx].reset_index(drop=True)
    hk = (city["market"] == "HK").to_numpy()

    size = rng.lognormal(0.0, 0.85, n_stores) * np.where(hk, 2.5, 1.0)
    size *= np.where(city["tier"].to_numpy() == 1, 1.15, 1.0)
    mainland_q = np.quantile(size[~hk], [0.45, 0.85]) if (~hk).any() else np.array([1.0, 2.0])
    size_class = np.where(size < mainland_q[0], "S", np.where(size < mainland_q[1], "M", "L"))

    opened_during = rng.random(n_stores) < opening_share
    open_day = np.where(
        opened_during,
        rng.integers(7, max(days - 30, 8), n_stores),
        -rng.integers(7, 5 * 365, n_stores),
    )
    status = rng.choice(["active", "suspended", "closed"], size=n_stores, p=[0.96, 0.02, 0.02])
    stop_day = np.full(n_stores, days)
    closed = status == "closed"
    suspended = status == "suspended"
    first_live = np.maximum(open_day, 0)
    low = np.minimum(first_live + 120, days - 15)
    stop_day[closed] = rng.integers(low[closed], days - 14)
    stop_day[suspended] = rng.integers(np.maximum(low[suspended], days - 180), days - 7)

    order = np.lexsort((rng.random(n_stores), open_day))
    city, size, size_class = city.iloc[order].reset_index(drop=True), size[order], size_class[order]
    open_day, status, stop_day, hk = open_day[order], status[order], stop_day[order], hk[order]

    codes = [f"S{i + 1:04d}" for i in range(n_stores)]
    mall_pick = rng.integers(0, 1_000_000, n_stores)
    names, seen = [], {}
    for i in range(n_stores):
        if hk[i]:
            base = f"香港{MALLS_HK[mall_pick[i] % len(MALLS_HK)]}智能眼鏡店"
        else:
            base = f"{city.at[i, 'city_zh']}{MALLS_CN[mall_pick[i] % len(MALLS_CN)]}智能眼镜{STORE_KIND[size_class[i]]}"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}({seen[base]})")

    stores = pd.DataFrame({
        "code": codes,
        "name": names,
        "city": city["city"],
        "city_zh": city["city_zh"],
        "province": city["province"],
        "city_tier": city["tier"].astype(int),
        "market": city["market"],
        "currency": np.where(hk, "HKD", "CNY"),
        "timezone": np.where(hk, "Asia/Hong_Kong", "Asia/Shanghai"),
        "partnership": rng.choice(["franchise", "consignment"], size=n_stores, p=[0.6, 0.4]),
        "status": status,
        "opened_on": [start + timedelta(days=int(d)) for d in open_day],
        "size_class": size_class,
        "dc_code": city["dc"],
    })
    dc_city = DCS.set_index("code")["city"]
    same_city = (stores["city"].to_numpy() == dc_city.reindex(stores["dc_code"]).to_numpy())
    dynamics = StoreDynamics(
        size=size,
        open_day=open_day,
        stop_day=stop_day,
        closes=status == "closed",
        transit_days=np.where(same_city, 2, rng.integers(3, 6, n_stores)),
        review_weekday=rng.integers(0, 5, n_stores),
        review_weeks=np.where(size_class == "S", 2, 1),
    )
    return stores[STORE_COLUMNS], dynamics


def _person(rng: np.random.Generator, language: str) -> str:
    if language == "en":
        return f"{EN_FIRST[rng.integers(len(EN_FIRST))]} {EN_LAST[rng.integers(len(EN_LAST))]}"
    return SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]


def build_users(stores: pd.DataFrame, brands: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = [{"email": "admin@example.com", "name": _person(rng, "zh_Hans"), "role": "admin",
             "store_code": None, "brand_code": None, "language": "zh_Hans"}]
    for i in range(1, 6):
        rows.append({"email": f"planner{i}@example.com", "name": _person(rng, "zh_Hans"), "role": "planner",
                     "store_code": None, "brand_code": None, "language": "zh_Hans"})
    for store in stores.itertuples(index=False):
        hk = store.market == "HK"
        domain = "stores.example.hk" if hk else "stores.example.com"
        staff = ["manager"] + [f"staff{k}" for k in range(1, 2 + int(rng.random() < 0.5))]
        for post in staff:
            u = rng.random()
            language = ("zh_Hant" if u < 0.85 else "en") if hk else ("zh_Hans" if u < 0.97 else "en")
            rows.append({"email": f"{store.code.lower()}.{post}@{domain}", "name": _person(rng, language),
                         "role": "store_manager" if post == "manager" else "store_staff",
                         "store_code": store.code, "brand_code": None, "language": language})
    for brand in brands.itertuples(index=False):
        language = "en" if rng.random() < 0.4 else "zh_Hans"
        rows.append({"email": brand.contact_email, "name": _person(rng, language), "role": "brand_partner",
                     "store_code": None, "brand_code": brand.code, "language": language})
    return pd.DataFrame(rows, columns=USER_COLUMNS)
