/** One row of a numeric data file: column name → value. */
export type DataRow = Readonly<Record<string, number>>;
