import type { SegmentDef } from "../../services/lib/model/index.js";
import type { FamilyCard } from "./card-sections.js";

/**
 * What the model cards of the credit families (credit-default, late-payment) say about their data, its limits and
 * the education grouping; models/credit-default/data/README.md documents the file itself.
 */
export function creditData(label: string): FamilyCard["data"] {
  return { ...CREDIT_SOURCE, label };
}

const CREDIT_SOURCE = {
  source:
    'UCI Machine Learning Repository, "default of credit card clients" (Yeh, I. C. & Lien, C. H. 2009, Expert ' +
    "Systems with Applications 36(2), 2473-2480): 25,000 of its 30,000 rows in a fixed shuffled order",
  licence: "CC BY 4.0",
  population:
    "credit card holders of one bank in Taiwan: credit limit, education, sex, marital status, age, and six months " +
    "(April-September 2005) of repayment status, bill amounts and payments, in New Taiwan dollars",
};

/** Education as a card grouping (a model input, not a protected attribute): the documented codes; 0, 5, 6 are not. */
export const EDUCATION_GROUPS: SegmentDef = {
  name: "education",
  source: "EDUCATION",
  labels: {
    "1": "graduate school",
    "2": "university",
    "3": "high school",
    "4": "others",
    "0": "undocumented",
    "5": "undocumented",
    "6": "undocumented",
  },
};

/** The limitations every credit model shares. */
export const CREDIT_LIMITATIONS: string[] = [
  "Trained and evaluated on one public data set: credit card holders of one Taiwanese bank in 2005. How it " +
    "performs on other lenders, countries, currencies, products or later years is unknown; validate it on the " +
    "intended population before any use there.",
  "The held-out rows are other clients of the same bank over the same months as the training rows (a random " +
    "split), not a later period, so the figures on this card are likely better than what it would achieve on " +
    "future applicants.",
  "SEX, AGE and MARRIAGE are never model inputs, but inputs such as the credit limit, education and repayment " +
    "history can correlate with them, so the model can still treat these groups differently. The per-segment " +
    "table measures that on the held-out rows; the monitor tracks approval rates by segment on live decisions.",
  "Approval rates differ between groups partly because default rates differ; a ratio below 0.8 is a signal to " +
    "investigate (the four-fifths rule of thumb), not by itself a finding of unfair treatment, and a ratio above " +
    "it does not prove fair treatment.",
  "Groups with fewer than 100 held-out rows are listed but not compared: their rates are too noisy.",
  "EDUCATION codes 0, 5 and 6 are undocumented in the source data; the model reads them as none of the one-hot " +
    "categories.",
  "The thresholds are score quantiles of the held-out rows (about 75 % approve, 15 % review, 10 % decline), not " +
    "a risk appetite chosen by a lender.",
];
