"""The area directory: pilot districts first, names matched the way people type them."""

from __future__ import annotations

from pythainlp.util import collate

from handlers.areas import AreaDirectory, validate_pilot_districts


def test_without_pilot_list_provinces_are_in_thai_order() -> None:
    names = [p.name_th for p in AreaDirectory().provinces()]
    assert len(names) == 77
    assert names == collate(names)


def test_thai_names_sort_as_thai_people_expect() -> None:
    """A leading vowel sorts by the consonant after it: เมืองเชียงใหม่ under ม, after แจ้ห่ม's
    neighbours under จ and ช, not after every name that starts with ห (code-point order)."""
    names = [d.name_th for d in AreaDirectory().districts("50")]
    assert names.index("เชียงดาว") < names.index("ดอยสะเก็ด") < names.index("เมืองเชียงใหม่")
    assert names.index("เมืองเชียงใหม่") < names.index("แม่ริม") < names.index("สันทราย")
    assert names.index("สันทราย") < names.index("หางดง")
    assert names != sorted(names)  # code-point order would put every เ…/แ… name last


def test_english_lists_are_in_the_order_of_their_english_names() -> None:
    names = [d.name_en for d in AreaDirectory().districts("50", "en")]
    assert names == sorted(names, key=str.casefold)
    provinces = [p.name_en for p in AreaDirectory().provinces("en")]
    assert provinces == sorted(provinces, key=str.casefold)


def test_pilot_districts_and_their_provinces_come_first() -> None:
    areas = AreaDirectory(frozenset({"5007", "4001"}))
    provinces = [p.code for p in areas.provinces()]
    assert set(provinces[:2]) == {"50", "40"}
    districts = areas.districts("50")
    assert districts[0].code == "5007"
    assert [d.name_th for d in districts[1:]] == collate(d.name_th for d in districts[1:])
    assert areas.districts("50", "en")[0].code == "5007"  # first in English too


def test_match_takes_a_clear_winner_alone() -> None:
    areas = AreaDirectory()
    found = areas.match("เชียงไหม่", areas.provinces())
    assert [p.code for p in found] == ["50"]
    exact = areas.match("สุเทพ", areas.subdistricts("5001"))
    assert [p.code for p in exact] == ["500108"]


def test_match_offers_several_when_unclear() -> None:
    areas = AreaDirectory()
    found = areas.match("เมือง", areas.districts("30"))  # นครราชสีมา has two เมือง… districts
    assert len(found) >= 2


def test_describe_and_validate() -> None:
    areas = AreaDirectory()
    assert areas.describe("5001", "th") == "เมืองเชียงใหม่, เชียงใหม่"
    assert areas.describe("5001", "en") == "Mueang Chiang Mai, Chiang Mai"
    assert validate_pilot_districts(["5001", "0000", "abcd", "500"]) == ["0000", "abcd", "500"]


def test_nicknames_and_the_start_of_a_name() -> None:
    areas = AreaDirectory()
    for nickname, code in (("กทม", "10"), ("โคราช", "30"), ("อยุธยา", "14"), ("อุบล", "34")):
        assert [p.code for p in areas.match(nickname, areas.provinces())] == [code], nickname
    doi = {p.name_th for p in areas.match("ดอย", areas.districts("50"))}
    assert {"ดอยสะเก็ด", "ดอยหล่อ", "ดอยเต่า"} <= doi
