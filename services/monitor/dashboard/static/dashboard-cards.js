// The dashboard's "Model cards" section: the card of each model's champion and canary (intended use, limitations,
// held-out performance overall and per segment), from /cards.json, polled every 10 s (cards change only when the
// serving versions do). Plain browser JavaScript; everything from the monitor goes in as text, never as HTML.
/* global document, window, fetch, setTimeout */
"use strict";

(() => {
  const POLL_MS = 10_000;
  const state = { updates: 0, lastError: null };
  const el = (id) => document.getElementById(id);
  const fmt = (x, digits = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`);

  function node(tag, text, cls) {
    const n = document.createElement(tag);
    if (text !== undefined) n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }

  function row(tag, cells, classes = []) {
    const tr = document.createElement("tr");
    cells.forEach((c, i) => tr.append(node(tag, String(c), classes[i] ?? (i < 2 ? "l" : ""))));
    return tr;
  }

  /** The per-segment table: a row per group; ratios below the card's floor flagged. */
  function segmentTable(card) {
    const p = card.performance;
    const table = node("table");
    table.dataset.cardSegments = `${card.model}/${card.version}`;
    table.append(
      row("th", ["attribute", "group", "rows", "default rate", "AUC", "approve", "review", "decline", "ratio"]),
    );
    for (const s of p.segments) {
      for (const g of s.groups) {
        const low = g.approval_ratio !== null && g.approval_ratio < p.ratio_floor;
        const ratio = g.approval_ratio === null ? "too few rows" : fmt(g.approval_ratio);
        const cls = ["l", "l", "", "", "", "", "", "", low ? "warn" : g.approval_ratio === null ? "dim" : ""];
        table.append(
          row(
            "td",
            [
              s.attribute,
              g.group,
              g.rows,
              pct(g.default_rate),
              fmt(g.roc_auc, 4),
              pct(g.approval_rate),
              pct(g.review_rate),
              pct(g.decline_rate),
              ratio,
            ],
            cls,
          ),
        );
      }
      const summary =
        s.approval_ratio === null
          ? `${s.attribute}: fewer than two groups of ${p.min_rows}+ rows to compare`
          : `${s.attribute}: lowest ÷ highest approval rate ${fmt(s.approval_ratio)} (${s.lowest} ÷ ${s.highest})` +
            (s.flagged ? ` below ${p.ratio_floor}` : "") +
            (s.protected ? "" : " · a model input, not protected");
      const tr = document.createElement("tr");
      const td = node("td", summary, `l ${s.flagged ? "warn" : "ok"}`);
      td.colSpan = 9;
      tr.append(td);
      table.append(tr);
    }
    return table;
  }

  function cardBox(card) {
    const box = node("article", undefined, "card");
    box.dataset.card = `${card.model}/${card.version}`;
    const pctText = card.canary_percent === null ? "" : ` at ${card.canary_percent} %`;
    box.append(node("h3", `${card.model} version ${card.version} · ${card.role}${pctText}`));
    if (card.missing) {
      box.append(node("p", card.missing, "warn"));
      return box;
    }
    box.append(node("p", `${card.algorithm} · held-out ROC AUC ${fmt(card.roc_auc, 4)} · ${card.description}`, "dim"));
    box.append(node("h4", "Intended use"), node("p", card.intended_use ?? "not recorded in this card", "intended-use"));
    const lim = node("details");
    lim.append(node("summary", `Limitations (${card.limitations.length})`));
    const list = node("ul", undefined, "limitations");
    for (const l of card.limitations) list.append(node("li", l));
    lim.append(list);
    box.append(lim);
    if (card.data)
      box.append(node("p", `Data: ${card.data.source}; ${card.data.population}. ${card.data.holdout}.`, "dim"));
    const p = card.performance;
    if (!p) {
      box.append(node("p", "per-segment performance: not recorded in this card", "warn"));
      return box;
    }
    const o = p.overall;
    box.append(
      node("h4", `Performance on the ${p.rows} held-out rows`),
      node(
        "p",
        `approve ${pct(o.approval_rate)}, review ${pct(o.review_rate)}, decline ${pct(o.decline_rate)} · ` +
          `default rate ${pct(o.default_rate)} · ratio: a group's approval rate ÷ its attribute's highest, flagged ` +
          `below ${p.ratio_floor}; groups under ${p.min_rows} rows not compared`,
        "dim",
      ),
      segmentTable(card),
    );
    return box;
  }

  function drawCards(cards) {
    const box = el("cards");
    box.replaceChildren(...cards.map(cardBox));
    const flagged = cards.filter((c) => c.performance && c.performance.segments.some((s) => s.flagged)).length;
    el("cards-note").textContent =
      `${cards.length} card${cards.length === 1 ? "" : "s"} of the serving versions` +
      (flagged ? ` · ${flagged} with a segment ratio flagged` : "");
  }

  async function poll() {
    try {
      const res = await fetch("/cards.json", { cache: "no-store" });
      if (!res.ok) throw new Error(`/cards.json: HTTP ${res.status}`);
      drawCards((await res.json()).cards);
      state.updates++;
      state.lastError = null;
    } catch (err) {
      state.lastError = String(err);
      el("cards-note").textContent = `model cards unavailable, retrying (${err.message ?? err})`;
    }
    setTimeout(poll, POLL_MS);
  }

  window.dashboardCards = { state };
  void poll();
})();
