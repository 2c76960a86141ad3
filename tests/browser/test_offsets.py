"""offsets.js against Python, at every boundary of a text mixing scripts and emoji."""

from __future__ import annotations

import pytest

from tests.browser.conftest import utf16

pytestmark = pytest.mark.browser

# ASCII, an emoji, a flag (two code points), Persian, a combining accent, a skin tone.
MIXED = "Hello 😀 world 🇦🇫 flag, کتاب خوب است, cafe\u0301 end 👍🏽.\n“quoted” 𝒳"

_CONVERT = """async (text) => {
  const { OffsetMap } = await import("/static/annotations/js/offsets.js");
  const map = new OffsetMap(text);
  const toUtf16 = [];
  for (let cp = 0; cp <= map.lengthCp; cp++) toUtf16.push(map.toUtf16(cp));
  const toCodePoint = [];
  for (let u = 0; u <= text.length; u++) toCodePoint.push(map.toCodePoint(u));
  return { toUtf16, toCodePoint, lengthCp: map.lengthCp };
}"""


@pytest.fixture
def converted(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    return page.evaluate(_CONVERT, MIXED)


def test_code_points_convert_to_the_utf16_offsets_python_computes(converted):
    assert converted["lengthCp"] == len(MIXED)
    assert converted["toUtf16"] == [utf16(MIXED, cp) for cp in range(len(MIXED) + 1)]


def test_utf16_offsets_convert_back_to_the_same_code_points(converted):
    for cp in range(len(MIXED) + 1):
        assert converted["toCodePoint"][utf16(MIXED, cp)] == cp


def test_an_offset_inside_a_surrogate_pair_snaps_to_the_start_of_its_character(converted):
    emoji = MIXED.index("😀")
    inside = utf16(MIXED, emoji) + 1

    assert converted["toCodePoint"][inside] == emoji


def test_every_slice_taken_in_the_browser_equals_pythons(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    slices = page.evaluate(
        """async (text) => {
          const { OffsetMap } = await import("/static/annotations/js/offsets.js");
          const map = new OffsetMap(text);
          const out = [];
          for (let a = 0; a <= map.lengthCp; a++)
            for (let b = a + 1; b <= map.lengthCp; b++)
              out.push(text.slice(map.toUtf16(a), map.toUtf16(b)));
          return out;
        }""",
        MIXED,
    )

    expected = [MIXED[a:b] for a in range(len(MIXED) + 1) for b in range(a + 1, len(MIXED) + 1)]
    assert slices == expected


def test_keyboard_steps_never_split_a_flag_an_emoji_or_an_accent(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    stops = page.evaluate(
        """async (text) => {
          const { step } = await import("/static/annotations/js/offsets.js");
          const stops = [0];
          while (stops[stops.length - 1] < text.length)
            stops.push(step(text, stops[stops.length - 1], 1));
          return stops;
        }""",
        MIXED,
    )

    cluster_starts = {utf16(MIXED, MIXED.index(c)) for c in ("😀", "🇦🇫", "👍🏽")}
    for start in cluster_starts:
        assert start in stops
        assert start + 1 not in stops
    flag = utf16(MIXED, MIXED.index("🇦🇫"))
    assert flag + 2 not in stops
    accent = utf16(MIXED, MIXED.index("e\u0301"))
    assert accent + 1 not in stops
    assert accent + 2 in stops
