"""whatworks.survey.ebp: the evidence-based practice benchmark survey (issue 15, item 7) — the questionnaire, its
report against the seed's figures, a hand calculation of the shares and their logit CIs, the synthetic truth, and
the path through the store's survey reader and the CLI."""

import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import whatworks as ww
from whatworks.errors import WhatworksError
from whatworks.survey import EBP_MAPPING, QUESTIONNAIRE, Design, EBPReport, ebp_report
from whatworks.survey.ebp import _verdict, mapping_toml, questionnaire, response_template
from whatworks.synth.survey_ebp import POPULATION, SAMPLE, ebp_responses

DESIGN = dict(weights="weight", strata="rank_group", fpc="rank_population")
ITEM = {q.name: q for q in QUESTIONNAIRE}


def _expit(x):
    return 1 / (1 + math.exp(-x))


def _logit_ci(p, se, df, conf_level=0.95):
    t = stats.t.ppf(0.5 + conf_level / 2, df)
    lg, half = math.log(p / (1 - p)), t * se / (p * (1 - p))
    return _expit(lg - half), _expit(lg + half)


def _hand_share(df, item, *, weights=None, strata=None, fpc=None):
    """The domain share and its linearised SE written out with plain loops: p = Σ w m y / Σ w m; z_i = w_i m_i
    (y_i − p) / Σ w m; V = Σ_h (1 − f_h) n_h / (n_h − 1) Σ_i (z_hi − z̄_h)²; df = answering respondents − strata."""
    q = ITEM[item]
    rows = df.to_dict("records")
    w = [1.0 if weights is None else float(r[weights]) for r in rows]
    m = [0.0 if (r[item] is None or (isinstance(r[item], float) and math.isnan(r[item]))) else 1.0 for r in rows]
    y = [1.0 if r[item] in q.counted else 0.0 for r in rows]
    W = sum(wi * mi for wi, mi in zip(w, m))
    p = sum(wi * mi * yi for wi, mi, yi in zip(w, m, y)) / W
    z = [wi * mi * (yi - p) / W for wi, mi, yi in zip(w, m, y)]
    h = ["all" if strata is None else r[strata] for r in rows]
    var = 0.0
    for s in dict.fromkeys(h):
        zs = [zi for zi, hi in zip(z, h) if hi == s]
        n_h = len(zs)
        f_h = 0.0 if fpc is None else n_h / float(next(r[fpc] for r, hi in zip(rows, h) if hi == s))
        zbar = sum(zs) / n_h
        var += (1 - f_h) * n_h / (n_h - 1) * sum((zi - zbar) ** 2 for zi in zs)
    n_answer = int(sum(m))
    dfree = n_answer - len(set(hi for hi, mi in zip(h, m) if mi))
    return p, math.sqrt(var), dfree, n_answer


def _small():
    """Twelve hand-made respondents in two strata; two did not answer stop_ineffective."""
    return pd.DataFrame({
        "respondent_id": [f"R{i}" for i in range(12)],
        "grade": ["A"] * 7 + ["B"] * 5,
        "weight": [3.0] * 7 + [8.0] * 5,
        "staff": [21] * 7 + [40] * 5,
        "stop_ineffective": ["No", "Yes", "Yes", None, "No", "Yes", "Yes", "No", "No", "Yes", None, "Yes"],
        "use_journals": ["Daily", "Never", "Rarely", "Weekly", "Monthly", "Never", "Rarely", "Weekly", "Never",
                         "Rarely", "Rarely", "Monthly"],
        "willing_before_after": ["Yes"] * 12,
    })


# ---------------------------------------------------------------- CHECK INPUTS
def test_an_answer_not_on_the_questionnaire_is_named_with_its_row():
    df = _small()
    df.loc[5, "use_journals"] = "Sometimes"
    with pytest.raises(WhatworksError, match="use_journals.*Sometimes.*position 5"):
        ebp_report(df, quiet=True)


def test_unknown_or_absent_items_and_empty_data_are_refused():
    df = _small()
    with pytest.raises(WhatworksError, match="Unknown EBP item"):
        ebp_report(df, items=["use_tarot"], quiet=True)
    with pytest.raises(WhatworksError, match="'use_newspapers' is not a column"):
        ebp_report(df, items=["use_newspapers"], quiet=True)
    with pytest.raises(WhatworksError, match="None of the EBP questionnaire's items"):
        ebp_report(df[["respondent_id", "weight"]], quiet=True)
    one = df.assign(stop_ineffective=[None] * 11 + ["No"])
    with pytest.raises(WhatworksError, match="fewer than two answers"):
        ebp_report(one, items=["stop_ineffective"], quiet=True)
    with pytest.raises(WhatworksError, match="conf_level"):
        ebp_report(df, conf_level=95, quiet=True)


def test_design_columns_go_with_a_dataframe_not_a_design():
    d = Design(_small(), weights="weight")
    with pytest.raises(WhatworksError, match="weights= are for a DataFrame"):
        ebp_report(d, weights="weight", quiet=True)


# ---------------------------------------------------------------- CHECK OUTPUTS: the hand calculation
def test_simple_random_sample_share_se_and_logit_ci_by_hand():
    df = _small()
    r = ebp_report(df, items=["use_journals"], quiet=True).table.iloc[0]
    # 3 of 12 use journals daily or weekly: p = 1/4, se = sqrt(p(1-p)/(n-1)) for an unweighted sample
    assert r["estimate"] == pytest.approx(0.25, abs=1e-15)
    assert r["se"] == pytest.approx(math.sqrt(0.25 * 0.75 / 11), rel=1e-12)
    lo, hi = _logit_ci(0.25, math.sqrt(0.25 * 0.75 / 11), 11)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)
    assert r["n"] == 12 and r["source"] == "this survey"


def test_stratified_weighted_share_with_fpc_and_missing_answers_by_hand():
    df = _small()
    rep = ebp_report(df, weights="weight", strata="grade", fpc="staff", quiet=True)
    for item in ("stop_ineffective", "use_journals"):
        p, se, dfree, n = _hand_share(df, item, weights="weight", strata="grade", fpc="staff")
        row = rep.table[(rep.table["item"] == item) & (rep.table["source"] == "this survey")].iloc[0]
        assert row["estimate"] == pytest.approx(p, abs=1e-14)
        assert row["se"] == pytest.approx(se, rel=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_logit_ci(p, se, dfree), rel=1e-12)
        assert row["n"] == n
    # stop_ineffective: "No" among those who answered, weighted: (3*2 + 8*2) / (3*6 + 8*4)
    assert rep.table.iloc[[i for i, v in enumerate(rep.table["item"]) if v == "stop_ineffective"][0]]["estimate"] == \
        pytest.approx(22 / 50)


def test_textbook_stratified_variance_when_everyone_answered():
    """No item non-response, weights N_h/n_h: V = Σ (N_h/N)² (1 − n_h/N_h) s²_h / n_h (Cochran 1977, 5.7)."""
    df, _ = ebp_responses(seed=3)
    df = df.assign(use_journals=df["use_journals"].fillna("Never"))
    row = ebp_report(df, items=["use_journals"], quiet=True, **DESIGN).table.iloc[0]
    N = sum(POPULATION.values())
    y = df["use_journals"].isin(["Daily", "Weekly"]).astype(float)
    p = sum(POPULATION[h] / N * y[df["rank_group"] == h].mean() for h in POPULATION)
    v = sum((POPULATION[h] / N) ** 2 * (1 - SAMPLE[h] / POPULATION[h]) * y[df["rank_group"] == h].var(ddof=1) / SAMPLE[h]
            for h in POPULATION)
    assert row["estimate"] == pytest.approx(p, abs=1e-14)
    assert row["se"] == pytest.approx(math.sqrt(v), rel=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(_logit_ci(p, math.sqrt(v), 250 - 4), rel=1e-12)


def test_a_share_of_exactly_one_gets_the_clopper_pearson_interval():
    """12 of 12 willing: se = 0, so the logit interval would be the point 1; Clopper–Pearson gives [0.025^(1/12), 1]."""
    row = ebp_report(_small(), items=["willing_before_after"], quiet=True).table.iloc[0]
    assert row["estimate"] == 1.0 and row["se"] == 0.0
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.025 ** (1 / 12), 1.0), rel=1e-12)
    none = Design(pd.DataFrame({"x": [0.0] * 9})).proportion("x", conf_level=0.9, quiet=True).table.iloc[0]
    assert (none["ci_low"], none["ci_high"]) == pytest.approx((0.0, 1 - 0.05 ** (1 / 9)), rel=1e-12)


def test_every_answer_share_adds_up_and_matches_design_proportion():
    df = _small()
    rep = ebp_report(df, weights="weight", strata="grade", quiet=True)
    a = rep.answers
    assert a.groupby("item")["estimate"].sum().to_numpy() == pytest.approx(1.0)
    d = Design(df, weights="weight", strata="grade").subset(df["use_journals"].notna())
    ref = d.proportion("use_journals", level="Rarely", quiet=True).table.iloc[0]
    got = a[(a["item"] == "use_journals") & (a["answer"] == "Rarely")].iloc[0]
    assert (got["estimate"], got["se"], got["ci_low"], got["ci_high"]) == pytest.approx(
        (ref["estimate"], ref["se"], ref["ci_low"], ref["ci_high"]), rel=1e-12)


def test_a_design_and_the_dataframe_give_the_same_report():
    df, _ = ebp_responses(seed=1)
    a = ebp_report(df, quiet=True, **DESIGN).table
    b = ebp_report(Design(df, **DESIGN), quiet=True).table
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------- CHECK OUTPUTS: the seed's comparison row
def test_the_seed_figures_are_the_comparison_rows():
    df, _ = ebp_responses(seed=0)
    rep = ebp_report(df, quiet=True, **DESIGN)
    seed = rep.table[rep.table["source"] == "seed benchmark (250 senior staff)"].set_index("item")
    assert seed["estimate"].to_dict() == {"willing_before_after": 1.0, "willing_rct": 0.5, "stop_ineffective": 0.18,
                                          "use_experience": 0.99, "use_newspapers": 0.62, "use_journals": 0.07}
    assert (seed["n"] == 250).all() and seed.loc["willing_rct", "seed_relation"] == "over"
    assert "define_ebp" not in seed.index  # the seed gives no figure for the definition
    c = rep.comparison()
    assert list(c["item"]) == [q.name for q in QUESTIONNAIRE]
    assert c.set_index("item").loc["define_ebp", "verdict"] == "no seed figure"


def test_verdict_rules_on_hand_values():
    rct, stop = ITEM["willing_rct"], ITEM["stop_ineffective"]
    assert _verdict(rct, 0.52, 0.60) == "consistent with the seed (over half)"
    assert _verdict(rct, 0.40, 0.50) == "lower than the seed"
    assert _verdict(rct, 0.45, 0.55) == "cannot tell whether over 50%"
    assert _verdict(stop, 0.10, 0.20) == "consistent with the seed"
    assert _verdict(stop, 0.20, 0.30) == "higher than the seed"
    assert _verdict(stop, 0.05, 0.17) == "lower than the seed"
    assert _verdict(ITEM["define_ebp"], 0.1, 0.2) == "no seed figure"


def test_result_convention_summary_plot_settings_and_announcements(capsys):
    df, _ = ebp_responses(seed=0)
    rep = ebp_report(df, weights="weight", strata="rank_group", fpc="rank_population")
    err = capsys.readouterr().err
    assert "EBP items set to the 7 of 7 questionnaire items" in err
    assert isinstance(rep, EBPReport) and repr(rep) == "<EBPReport: EBP benchmark, 250 respondents, 7 items>"
    with pytest.raises(Exception):
        rep.n_respondents = 3  # frozen
    s = rep.summary()
    assert s.startswith("Evidence-based practice benchmark, 250 respondents (95% CIs)") and "seed over 50%" in s
    assert rep.settings["conf_level"].value == 0.95 and rep.settings["conf_level"].source == "default"
    assert rep.settings["items"].source == "data" and rep.settings["ci_method"].value == "logit"
    assert rep.plot().axes[0].get_title() == "Evidence-based practice: this survey against the seed"
    ebp_report(df, quiet=True)
    assert capsys.readouterr().err == ""
    unweighted = ebp_report(df)
    assert "weights set to none" in capsys.readouterr().err
    assert unweighted.settings["weights"].source == "default"


# ---------------------------------------------------------------- CHECK OUTPUTS: the synthetic truth
def test_the_synthetic_truth_is_what_the_population_answered():
    df, truth = ebp_responses(seed=5)
    assert len(df) == 250 and df.groupby("rank_group").size().to_dict() == SAMPLE
    assert (df.groupby("rank_group")["weight"].first() * pd.Series(SAMPLE)).to_dict() == pytest.approx(POPULATION)
    assert truth["population_share"]["willing_before_after"] == 1.0
    for item, share in truth["population_share"].items():
        assert share == pytest.approx(sum(truth["population_answer_shares"][item][a] for a in ITEM[item].counted))
        assert abs(share - truth["model_share"][item]) < 0.05
    again, _ = ebp_responses(seed=5)
    pd.testing.assert_frame_equal(df, again)
    with pytest.raises(WhatworksError, match="More interviews than staff"):
        ebp_responses(sample={**SAMPLE, "Superintendent": 400})
    with pytest.raises(WhatworksError, match="adding up to 1"):
        ebp_responses(probabilities={"stop_ineffective": (0.5, 0.6)})


def test_cis_cover_the_injected_shares_over_200_seeds():
    cover = {q.name: [] for q in QUESTIONNAIRE}
    for s in range(200):
        df, truth = ebp_responses(seed=s)
        c = ebp_report(df, quiet=True, **DESIGN).comparison()
        for _, r in c.iterrows():
            cover[r["item"]].append(r["ci_low"] <= truth["population_share"][r["item"]] <= r["ci_high"])
    rate = {k: float(np.mean(v)) for k, v in cover.items()}
    assert rate["willing_before_after"] == 1.0  # all willing, in truth and in every sample
    pooled = np.mean([v for k, vs in cover.items() if k != "willing_before_after" for v in vs])
    assert 0.93 <= pooled <= 0.97, rate
    assert all(0.90 <= v <= 0.99 for k, v in rate.items() if k != "willing_before_after"), rate


def test_an_injected_share_far_from_the_seed_is_flagged():
    df, truth = ebp_responses(seed=2, probabilities={"stop_ineffective": (0.6, 0.4)})
    c = ebp_report(df, quiet=True, **DESIGN).comparison().set_index("item")
    assert truth["population_share"]["stop_ineffective"] > 0.35
    assert c.loc["stop_ineffective", "verdict"] == "higher than the seed"
    assert c.loc["stop_ineffective", "ci_low"] <= truth["population_share"]["stop_ineffective"] <= c.loc["stop_ineffective", "ci_high"]


# ---------------------------------------------------------------- loadable as a survey: the store's reader
def test_responses_load_through_the_store_reader_and_give_the_same_report(tmp_path):
    df, _ = ebp_responses(seed=4)
    path = tmp_path / "ebp.csv"
    df.to_csv(path, index=False)
    with ww.Store(tmp_path / "s.duckdb") as store:
        rep = store.ingest_survey(path, mapping=EBP_MAPPING)
        assert rep.rows_read == rep.rows_loaded == 250 and rep.rows_quarantined == 0
        back = store.survey("ebp")
    assert back["use_journals"].isna().sum() == df["use_journals"].isna().sum()
    a = ebp_report(back, quiet=True, **DESIGN).table
    b = ebp_report(df, quiet=True, **DESIGN).table
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_mapping_template_and_questionnaire_table():
    doc = tomllib.loads(mapping_toml())
    assert doc == EBP_MAPPING
    assert list(response_template().columns) == ["respondent_id", "weight", *(q.name for q in QUESTIONNAIRE)]
    q = questionnaire()
    assert len(q) == 7 and q.set_index("item").loc["use_newspapers", "counted"] == "Daily | Weekly | Monthly"


def test_cli_writes_loads_and_reports(tmp_path, monkeypatch):
    from whatworks.cli import app

    monkeypatch.chdir(tmp_path)
    run = CliRunner()
    r = run.invoke(app, ["survey", "ebp-synth", "ebp.csv", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ebp.toml").exists() and (tmp_path / "ebp.truth.json").exists()
    r = run.invoke(app, ["ingest", "survey", "ebp.csv", "--mapping", "ebp.toml", "--store", "s.duckdb"])
    assert r.exit_code == 0 and "250 loaded" in r.output, r.output
    r = run.invoke(app, ["survey", "ebp", "--store", "s.duckdb", "--weight", "weight", "--strata", "rank_group",
                         "--fpc", "rank_population", "--quiet", "--out", "report.csv", "--plot", "report.svg"])
    assert r.exit_code == 0, r.output
    assert "Evidence-based practice benchmark, 250 respondents" in r.output and "use_journals" in r.output
    table = pd.read_csv(tmp_path / "report.csv")
    assert set(table["source"]) == {"this survey", "seed benchmark (250 senior staff)"}
    assert (tmp_path / "report.svg").read_text().lstrip().startswith("<?xml")
    r = run.invoke(app, ["survey", "ebp", "--store", "missing.duckdb"])
    assert r.exit_code == 2 and "No store" in r.output
    r = run.invoke(app, ["survey", "ebp-questionnaire"])
    assert r.exit_code == 0 and "willing_rct" in r.output
