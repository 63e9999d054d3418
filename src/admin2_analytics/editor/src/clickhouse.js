// The ClickHouse dialect for @codemirror/lang-sql (it ships none): keywords, types, quoting.
import { SQLDialect } from "@codemirror/lang-sql";

const keywords =
  "select from where prewhere group by order having limit offset with totals rollup cube " +
  "as on using join inner left right full outer cross semi anti any all asof array global " +
  "local union intersect except distinct and or not in between like ilike is null case when " +
  "then else end asc desc nulls first last fill step interpolate qualify window over " +
  "partition rows range unbounded preceding following current row sample final format " +
  "settings into values if exists true false interval cast lambda paste explain describe " +
  "show tables databases columns create insert alter drop system kill query truncate " +
  "optimize rename attach detach grant revoke set use exchange materialized view table " +
  "database dictionary temporary engine primary key ttl codec default alias";

const types =
  "UInt8 UInt16 UInt32 UInt64 UInt128 UInt256 Int8 Int16 Int32 Int64 Int128 Int256 " +
  "Float32 Float64 BFloat16 Decimal Decimal32 Decimal64 Decimal128 Decimal256 Bool Boolean " +
  "String FixedString UUID Date Date32 DateTime DateTime64 Time Time64 Enum Enum8 Enum16 " +
  "LowCardinality Nullable Array Map Tuple Nested JSON Dynamic Variant IPv4 IPv6 Point Ring " +
  "Polygon MultiPolygon Nothing IntervalSecond IntervalMinute IntervalHour IntervalDay " +
  "IntervalWeek IntervalMonth IntervalQuarter IntervalYear";

export const ClickHouse = SQLDialect.define({
  keywords,
  types,
  backslashEscapes: true,
  hashComments: true,
  slashComments: false,
  spaceAfterDashes: false,
  doubleQuotedStrings: false,
  identifierQuotes: '`"',
  caseInsensitiveIdentifiers: false,
  operatorChars: "*+-%<>!=&|~^/?:",
  // {name:Type} query parameters are braces: lang-sql tokenizes them as punctuation.
  specialVar: "",
});
