"""report._render: numbers in the pack as a reader sees them (issue #11.7: settings shown as the charts show them)."""

from whatworks._announce import Setting
from whatworks.report._render import fmt_setting, fmt_value


def test_settings_are_shown_with_their_unit_and_sensible_digits():
    assert fmt_setting(Setting(282.842712474619, "data", "", unit="m")) == "282.8 m"
    assert fmt_setting(Setting(200.0, "data", "", unit="m")) == "200 m"
    assert fmt_setting(Setting(39.612178483516395)) == "39.61"
    assert fmt_setting(Setting(0.15370144295234855)) == "0.1537"
    assert fmt_setting(Setting(123456.0)) == "123,456"
    assert fmt_setting(Setting("police.uk")) == "police.uk"
    assert fmt_setting(Setting(True)) == "True"


def test_whole_counts_lose_floating_point_noise():
    assert fmt_value(4376.9999999, "count") == "4,377"
    assert fmt_value(266.7, "count") == "266.7"
    assert fmt_value(0.154, "solved_rate") == "15.4%"
