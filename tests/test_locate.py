"""Place names are never guessed: a name resolves only on an exact match after normalisation.

Issue 12 item 5: ``Chepstow`` used to resolve to the fuel station "Shell Chepstow Road" and
``Caerleon`` to "Caerleon House Hotel" (substring match).  Real names from the Newport extract.
"""

from __future__ import annotations

import math

import pytest
from datapaths import DATA

from routeplan.errors import LocateError, UsageError
from routeplan.locate import (
    MAX_SNAP_LIMIT_M,
    ResolvedPoint,
    find_place,
    normalise_name,
    parse_latlon,
    resolve,
    resolve_point,
    snap,
    split_venue,
)
from routeplan.osm import Place

# -- normalise_name: pure -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("St. Woolos", "saint woolos"),
        ("St Woolos", "ST WOOLOS"),
        ("Saint Bride's Wentlooge", "st brides wentlooge"),
        ("St Mark\u2019s Church", "st marks church"),  # typographic apostrophe
        ("B&Q", "b and q"),
        ("Ship and Pilot", "Ship & Pilot"),
        ("Tesco, NE-bound", "tesco ne bound"),
        ("  Stow   Park ", "stow park"),
        ("\uff34\uff45\uff53\uff43\uff4f", "tesco"),  # fullwidth letters (NFKC)
        ("Stra\u00dfe", "STRASSE"),  # case folding, not just lower()
        ("Caf\u0065\u0301", "Caf\u00e9"),  # combining accent == precomposed (NFKC)
    ],
)
def test_normalise_equivalences(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Stow", "Stow Park"),
        ("Chepstow", "Shell Chepstow Road"),
        ("Sainton", "St on"),  # "Saint" only as a whole word
        ("Tesco Extra", "Tesco Express"),
    ],
)
def test_normalise_keeps_different_names_apart(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_normalise_form():
    assert normalise_name("Sainton Stanley") == "sainton stanley"
    assert normalise_name("St. Mark's  Church") == "st marks church"
    assert normalise_name("Saint-Woolos,Newport.") == "st woolos newport"
    assert normalise_name(" - , . ") == ""
    assert normalise_name(normalise_name("Saint Bride's & Co.")) == normalise_name("Saint Bride's & Co.")  # idempotent


# -- find_place on synthetic lists ------------------------------------------------------------

def P(name, kind="place=village", lat=51.5, lon=-3.0, osm="n1"):
    return Place(name, kind, lat, lon, osm)


def test_saint_equivalence_on_synthetic_list():
    places = [P("Saint Mellons", osm="n1"), P("St Julians", "place=suburb", 51.6, osm="n2")]
    assert find_place("st mellons", places).osm == "n1"
    assert find_place("St. Mellons", places).osm == "n1"
    assert find_place("Saint Julians", places).osm == "n2"
    assert find_place("saint-julian's", places).osm == "n2"


def test_sharing_a_word_never_resolves():
    places = [P("Shell Chepstow Road", "amenity=fuel"), P("Caerleon House Hotel", "tourism=hotel", osm="w2")]
    for q in ("Chepstow", "Chepstow Road", "Caerleon", "Caerleon Hotel", "House"):
        with pytest.raises(LocateError, match="unknown place"):
            find_place(q, places)


def test_same_place_grouping_and_settlement_preference():
    # A node and a way of one building: one place.
    same = [P("Town Hall", "amenity=townhall", osm="n1"), P("Town Hall", "building=civic", 51.5005, osm="w1")]
    assert find_place("town hall", same).name == "Town Hall"
    # Far apart: two places, ambiguous, listed with kinds and positions.
    far = [P("Town Hall", "amenity=townhall", osm="n1"), P("Town Hall", "amenity=townhall", 51.6, osm="n2")]
    with pytest.raises(LocateError, match=r"ambiguous: Town Hall \(amenity=townhall\) at 51\.50000,-3\.00000; Town Hall \(amenity=townhall\) at 51\.60000"):
        find_place("Town Hall", far)
    # Several distinct objects, exactly one a settlement: the settlement.
    mixed = [P("Rogerstone", "railway=station", 51.59, osm="n1"), P("Rogerstone", "place=suburb", 51.60, osm="n2"),
             P("Rogerstone", "railway=site", 51.57, osm="n3")]
    assert find_place("rogerstone", mixed).osm == "n2"
    # Two settlements of one name: ambiguous.
    two = [P("Newton", "place=village", osm="n1"), P("Newton", "place=hamlet", 52.5, osm="n2")]
    with pytest.raises(LocateError, match="ambiguous"):
        find_place("Newton", two)


def test_unknown_lists_ranked_candidates_with_kinds():
    places = [
        P("Chepstow Road Fuel", "amenity=fuel", osm="n1"),
        P("Chepstow", "place=town", 52.0, osm="n2"),  # not the query below
        P("Road Safety", "office=yes", osm="n3"),
        P("Chepstowe", "place=hamlet", osm="n4"),
    ]
    with pytest.raises(LocateError) as exc:
        find_place("Chepstow Rd", places)  # no name has both words
    msg = str(exc.value)
    assert msg.startswith("unknown place 'Chepstow Rd'")
    with pytest.raises(LocateError) as exc:
        find_place("Road", places)
    msg = str(exc.value)
    # Names containing every word typed come first, shortest first.
    # ... each with its kind, nearest settlement and distance.
    assert "did you mean: Road Safety (office=yes, 0.0 km from Chepstowe), Chepstow Road Fuel (amenity=fuel, 0.0 km from Chepstowe)" in msg
    many = [P(f"Stow Road {i}", "highway=bus_stop", osm=f"n{i}") for i in range(9)]
    with pytest.raises(LocateError) as exc:
        find_place("Stow Road", many)
    assert str(exc.value).count("(highway=bus_stop)") == 5


def test_empty_name_is_usage_error():
    for text in ("", "   ", "\t\n", "\u00a0"):
        with pytest.raises(UsageError, match="empty place name") as exc:
            find_place(text, [P("X")])
        assert exc.value.exit_code == 2
    with pytest.raises(UsageError, match="empty place name"):
        find_place("'-.", [P("X")])


# -- lat,lon text ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["nan,nan", "51.5,nan", "NaN,-3.0", "inf,-3", "51.5,-inf", "-Infinity,0", "1e999,0"])
def test_latlon_rejects_nan_and_inf(text):
    with pytest.raises(LocateError, match="finite"):
        parse_latlon(text)


def test_latlon_forms():
    assert parse_latlon("51.58,-3.0") == (51.58, -3.0)
    assert parse_latlon(" 51.58 , -3 ") == (51.58, -3.0)
    assert parse_latlon("51.58 -3.0") == (51.58, -3.0)
    assert parse_latlon("+51.58,-.5") == (51.58, -0.5)
    assert parse_latlon("Stow Park") is None
    with pytest.raises(LocateError, match="not a latitude"):
        parse_latlon("91,0")
    with pytest.raises(LocateError, match="lon,lat"):
        parse_latlon("-3.0,51.58")


# -- the real Newport extract (integration) ------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize(("text", "shown"), [("Chepstow", "Shell Chepstow Road (amenity=fuel, "), ("Caerleon", "Caerleon House Hotel (tourism=hotel, ")])
def test_real_partial_names_no_longer_resolve(newport2024, b2024, text, shown):
    with pytest.raises(LocateError) as exc:
        resolve(text, newport2024, b2024)
    assert exc.value.exit_code == 5
    msg = str(exc.value)
    assert msg.startswith(f"unknown place {text!r}") and "did you mean: " + shown in msg


@pytest.mark.integration
@pytest.mark.parametrize(("text", "kind"), [("Rogerstone", "place=suburb"), ("Marshfield", "place=village"), ("Duffryn", "place=suburb"),
                                            ("Stow Park", "place=suburb"), ("stow  park", "place=suburb"), ("NEWPORT", "place=city")])
def test_real_exact_names_resolve(newport2024, b2024, text, kind):
    st = resolve(text, newport2024, b2024)
    assert normalise_name(st.label) == normalise_name(text) and st.source.endswith(kind)
    assert st.snap_m < 750 and st.cell >= 0


@pytest.mark.integration
def test_real_saint_equivalence(newport2024, b2024):
    real = {p.name for p in newport2024.places}
    assert "St. Woolos" in real and "Saint Bride's Wentlooge" in real
    a, b, c = (resolve(t, newport2024, b2024) for t in ("st woolos", "Saint Woolos", "ST. WOOLOS"))
    assert a == b == c and a.label == "St. Woolos"
    assert resolve("St Brides Wentlooge", newport2024, b2024).label == "Saint Bride's Wentlooge"


@pytest.mark.integration
def test_real_ambiguous_still_lists(newport2024, b2024):
    with pytest.raises(LocateError, match=r"'Tesco' is ambiguous: Tesco \(amenity=fuel\) at 51\.\d+,-[23]\.\d+ \(\d\.\d km from \w+\); Tesco \(amenity=fuel\)"):
        resolve("Tesco", newport2024, b2024)
    with pytest.raises(LocateError, match="ambiguous"):
        resolve("mcdonalds", newport2024, b2024)


@pytest.mark.integration
def test_real_empty_is_usage_error(newport2024, b2024):
    with pytest.raises(UsageError, match="empty place name"):
        resolve("  ", newport2024, b2024)


@pytest.mark.integration
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1.0, 0.0, MAX_SNAP_LIMIT_M * 1.0001, 1e9])
def test_max_snap_must_be_a_finite_positive_distance(newport2024, b2024, bad):
    with pytest.raises(UsageError, match="max_snap_m") as exc:
        resolve("51.5675,-3.0200", newport2024, b2024, max_snap_m=bad)
    assert exc.value.exit_code == 2
    with pytest.raises(UsageError, match="max_snap_m"):
        snap(newport2024, 51.5675, -3.0200, max_snap_m=bad)
    with pytest.raises(UsageError, match="max_snap_m"):
        resolve("Rogerstone", newport2024, b2024, max_snap_m=bad)


@pytest.mark.integration
def test_max_snap_in_range_still_applies(newport2024, b2024):
    assert resolve("51.5675,-3.0200", newport2024, b2024, max_snap_m=MAX_SNAP_LIMIT_M).snap_m < 750
    with pytest.raises(LocateError, match="from the nearest road"):
        resolve("51.40,-3.00", newport2024, b2024, max_snap_m=1000)  # Bristol Channel
    with pytest.raises(LocateError, match="finite"):
        resolve("nan,nan", newport2024, b2024)


# -- issue 14: postcodes, and names with a town and/or a postcode ----------------------------------

def test_split_venue():
    assert split_venue("Rivermead Leisure Centre, Reading RG1 8EQ") == ("Rivermead Leisure Centre", "Reading", "RG18EQ")
    assert split_venue("Rivermead Leisure Centre, Reading") == ("Rivermead Leisure Centre", "Reading", None)
    assert split_venue("Tesco Extra np203ba") == ("Tesco Extra", "", "NP203BA")
    assert split_venue("Tesco Extra,NP20 3BA") == ("Tesco Extra", "", "NP203BA")
    assert split_venue("Norwich Castle") == ("Norwich Castle", "", None)
    assert split_venue("Hall, Street, Town") == ("Hall, Street", "Town", None)
    assert split_venue("Unit NP2O 1HG") == ("Unit NP2O 1HG", "", None)  # not a postcode: stays in the name


def test_resolve_point_without_map_data():
    pt = resolve_point("NP20 1HG", data_dir=DATA)
    assert isinstance(pt, ResolvedPoint) and pt.kind == "postcode" and pt.how == "postcode NP20 1HG" and pt.label == "NP20 1HG"
    assert resolve_point("np201hg", data_dir=DATA) == resolve_point("NP201HG", data_dir=DATA) == pt
    d = resolve_point("NP20", data_dir=DATA)
    assert d.kind == "district" and d.how.startswith("postcode district NP20 (centroid of ") and d.warnings
    ll = resolve_point(" 51.58,-3.0 ")
    assert (ll.lat, ll.lon, ll.how, ll.kind) == (51.58, -3.0, "lat,lon", "latlon")
    with pytest.raises(LocateError, match="no map data to look names up in"):
        resolve_point("Norwich Castle", data_dir=DATA)
    v = resolve_point("Norwich Castle, Norwich NR1 3JU", data_dir=DATA)
    assert v.kind == "venue-postcode" and v.how == "postcode NR1 3JU (venue name not in the map data)"
    assert v.label == "Norwich Castle, Norwich" and "not in the map data" in v.warnings[-1]
    with pytest.raises(UsageError, match="empty place name"):
        resolve_point(" ,. ")


@pytest.mark.parametrize(("text", "pattern"), [("NP2O 1HG", "nearest valid postcodes: NP20 1HG"), ("XX99 9ZZ", "not a GB postcode area"),
                                               ("12345", "not a valid postcode"), ("NP20 1HX", "unknown postcode NP20 1HX")])
def test_resolve_point_bad_postcodes(text, pattern):
    with pytest.raises(LocateError, match=pattern):
        resolve_point(text, places=[P("Newport", "place=city")], data_dir=DATA)


def test_town_chooses_among_exact_matches_synthetic():
    # Two towns 20 km apart, a "Market Hall" in each and one 3 km outside town B (nearest: village C).
    places = [
        P("Alphaton", "place=town", 52.00, -1.00, "n1"), P("Betaby", "place=town", 52.18, -1.00, "n2"),
        P("Gamma", "place=village", 52.21, -1.00, "n3"),
        P("Market Hall", "amenity=marketplace", 52.001, -1.001, "n10"),
        P("Market Hall", "amenity=marketplace", 52.181, -1.001, "n11"),
        P("Market Hall", "amenity=marketplace", 52.208, -1.000, "n12"),
    ]
    with pytest.raises(LocateError, match=r"ambiguous: Market Hall .*\(0\.1 km from Alphaton\)"):
        resolve_point("Market Hall", places=places)
    assert resolve_point("Market Hall, Alphaton", places=places).how == "n10 amenity=marketplace"
    assert resolve_point("market hall,betaby", places=places).how == "n11 amenity=marketplace"
    assert resolve_point("Market Hall, Gamma", places=places).how == "n12 amenity=marketplace"
    with pytest.raises(LocateError, match=r"no place 'Market Hall' in or within 5\.0 km of 'Deltaford' .*no place called 'Deltaford'"):
        resolve_point("Market Hall, Deltaford", places=places)
    # The name must still match exactly: a shared word never does, even with a town.
    with pytest.raises(LocateError, match="unknown place 'Market, Alphaton'"):
        resolve_point("Market, Alphaton", places=places)


@pytest.mark.integration
def test_real_town_disambiguation_rutland(rutland2024):
    places = rutland2024.places
    with pytest.raises(LocateError, match=r"'Boots' is ambiguous: .*\(0\.2 km from Uppingham\).*\(0\.1 km from Oakham\)"):
        resolve_point("Boots", places=places)
    oak, upp = resolve_point("Boots, Oakham", places=places), resolve_point("boots,  UPPINGHAM", places=places)
    assert oak.kind == upp.kind == "place" and oak.how != upp.how and oak.lat > upp.lat + 0.05
    assert resolve_point("Boots, Uppingham LE15 9QS", places=places).how == upp.how
    # Three pubs called Wheatsheaf: the town picks one, even with another 2.8 km away in Langham.
    assert resolve_point("Wheatsheaf, Oakham", places=places).how != resolve_point("Wheatsheaf, Langham", places=places).how
    assert resolve_point("Exeter Arms, Uppingham", places=places).how != resolve_point("Exeter Arms, Barrowden", places=places).how
    with pytest.raises(LocateError, match="unknown place 'Norwich Castle'"):
        resolve_point("Norwich Castle", places=places)


@pytest.mark.integration
def test_real_postcode_disambiguation_newport(newport2024, b2024):
    places = newport2024.places
    with pytest.raises(LocateError, match=r"'Tesco Extra, Newport' is ambiguous: .*Gaer.*; .*Liswerry"):
        resolve_point("Tesco Extra, Newport", places=places, data_dir=DATA)
    spytty = resolve_point("Tesco Extra, Newport NP19 4TX", places=places, data_dir=DATA)
    gaer = resolve_point("Tesco Extra NP20 3BA", places=places, data_dir=DATA)
    assert spytty.kind == gaer.kind == "place" and spytty.how != gaer.how and spytty.lon > gaer.lon + 0.05
    assert spytty.warnings == ()  # the other one is 4.4 km away: no doubt
    assert resolve_point("Tesco Extra, Liswerry", places=places).how == spytty.how
    # A name in the map data, but none near the postcode: the postcode's point, said plainly.
    far = resolve_point("Tesco, Reading RG1 8EQ", places=places, data_dir=DATA)
    assert far.kind == "venue-postcode" and "no 'Tesco' within 5.0 km" in far.how and far.lat < 51.5
    # resolve() = resolve_point + snap, for route, plan, itineraries.
    st = resolve("NP20 1HG", newport2024, b2024)
    assert st.source == "postcode NP20 1HG" and st.label == "NP20 1HG" and st.snap_m < 100
    assert b2024.names[st.cell] == "Newport East" and st.cell_how == "inside"
    assert resolve("Tesco Extra, Newport NP19 4TX", newport2024, b2024).source == spytty.how
    with pytest.raises(LocateError, match="from the nearest road a coach may use") as exc:
        resolve("Rivermead Leisure Centre, Reading RG1 8EQ", newport2024, b2024)
    assert exc.value.exit_code == 5
