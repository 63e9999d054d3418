"""The rule behind ``allowed_functions.tsv``: which of a server's functions user SQL may call.

Pure data functions (by ``system.functions`` category, minus the reviewed exceptions) are in;
server information, files, dictionaries, introspection and internals are out. docs/clickhouse.md.
"""

from __future__ import annotations

from collections.abc import Iterable

# Categories whose functions compute on their arguments alone.
ALLOWED_CATEGORIES = frozenset(
    {
        *("Aggregate Functions", "Arithmetic", "Arrays", "Bit", "Comparison", "Conditional"),
        *("Dates and Times", "Encoding", "Encryption", "Financial", "Geo", "Geo Polygon"),
        *("Hash", "IP Address", "JSON", "Logical", "Map", "Mathematical", "Null"),
        *("Random Number", "Rounding", "String", "String Replacement", "String Search"),
        *("String Splitting", "Time Series", "Time Window", "Tuple", "Type Conversion"),
        *("URL", "UUID"),
    }
)
# In an allowed category, yet they tell about the server or the engine.
EXCLUDED = frozenset({"chDB".lower(), "serverTimezone"})  # chDB: the embedded engine's version
# Reviewed one by one in other categories ("Other", "Internal", none): pure computations.
REVIEWED = frozenset(
    {
        *("bar", "transform", "formatReadableSize", "formatReadableDecimalSize", "materialize"),
        *("identity", "ignore", "toTypeName", "toColumnTypeName", "isConstant", "byteSize"),
        *("runningDifference", "runningDifferenceStartingWithFirstValue", "neighbor"),
        *("rowNumberInBlock", "rowNumberInAllBlocks", "blockSize", "blockNumber", "throwIf"),
        *("countDigits", "visibleWidth", "defaultValueOfArgumentType", "defaultValueOfTypeName"),
        *("parseReadableSize", "parseReadableSizeOrNull", "parseReadableSizeOrZero"),
        *("parseTimeDelta", "finalizeAggregation", "initializeAggregation", "runningAccumulate"),
        *("MACNumToString", "MACStringToNum", "MACStringToOUI", "getSizeOfEnumType"),
        *("variantElement", "variantType", "getSubcolumn", "isDecimalOverflow", "indexHint"),
        *("minSampleSizeConversion", "minSampleSizeContinuous", "flipCoordinates"),
        *("colorSRGBToOKLAB", "colorOKLABToSRGB", "colorSRGBToOKLCH", "colorOKLCHToSRGB"),
        *("errorCodeToName", "currentDatabase", "icebergBucket", "icebergTruncate"),
        *("lowCardinalityIndices", "lowCardinalityKeys", "caseWithExpression"),
        # window and other aggregate functions listed without a category
        *("lead", "lag", "nth_value", "ntile", "row_number", "cume_dist", "percentRank"),
        *("leadInFrame", "lagInFrame", "denseRank", "rank", "any_respect_nulls"),
        *("anyLast_respect_nulls", "windowFunnel", "quantilesExact", "nonNegativeDerivative"),
    }
)
# Function nodes the parser makes from syntax (or binding), absent from system.functions.
SYNTAX = frozenset({"lambda", "exists", "grouping", "_CAST"})  # _CAST: a bound value
# Table functions that generate rows and read nothing.
TABLE_FUNCTIONS = (
    *("numbers", "numbers_mt", "generate_series", "generateSeries", "generateRandom"),
    *("values", "primes"),
)
# Never listed, whatever category a server gives them (reviewed refusals, kept for tests).
SERVER_INFORMATION = (
    *("getServerSetting", "getMergeTreeSetting", "getMacro", "serverUUID", "buildId"),
    *("getOSKernelVersion", "hostName", "hasColumnInTable", "currentProfiles", "demangle"),
    *("addressToLine", "addressToLineWithInlines", "addressToSymbol", "version", "uptime"),
    *("currentUser", "getSetting", "getSettingOrDefault", "sleep", "sleepEachRow", "joinGet"),
    *("file", "filesystemAvailable", "filesystemCapacity", "filesystemUnreserved", "dictGet"),
    *("fqdn", "tcpPort", "getServerPort", "displayName", "catboostEvaluate", "serverTimezone"),
)


def allowed_rows(
    functions: Iterable[tuple[str, int, int, str, str]],
    combinators: Iterable[str],
    table_functions: Iterable[str],
) -> list[tuple[str, str, str]]:
    """The list file's rows from ``system.functions`` rows (name, is_aggregate,
    case_insensitive, alias_to, categories), the combinators and the table functions."""
    functions = list(functions)
    base = _base_functions(functions)
    rows = {(_kind(is_aggregate), name, _case(case)) for name, (is_aggregate, case) in base.items()}
    rows |= _alias_rows(functions, base)
    rows |= {("scalar", name, "s") for name in SYNTAX}
    rows |= {("combinator", name, "s") for name in combinators}
    rows |= {("table", name, "s") for name in TABLE_FUNCTIONS}
    rows |= {("known-table", name, "s") for name in table_functions}
    return sorted(rows)


def _base_functions(functions) -> dict[str, tuple[int, int]]:
    """Allowed functions that are not aliases: name -> (is_aggregate, case_insensitive)."""
    base: dict[str, tuple[int, int]] = {}
    for name, is_aggregate, case_insensitive, alias_to, categories in functions:
        if alias_to or name in EXCLUDED or name in SERVER_INFORMATION:
            continue
        if name in REVIEWED or set(_categories(categories)) & ALLOWED_CATEGORIES:
            base[name] = (is_aggregate, case_insensitive)
    return base


def _alias_rows(functions, base) -> set[tuple[str, str, str]]:
    """An alias is allowed with the function it names, under that function's kind."""
    return {
        (_kind(base[alias_to][0]), name, _case(case_insensitive))
        for name, _aggregate, case_insensitive, alias_to, _ in functions
        if alias_to and alias_to in base and name not in SERVER_INFORMATION
    }


def _kind(is_aggregate: int) -> str:
    return "aggregate" if is_aggregate else "scalar"


def _categories(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _case(case_insensitive: int) -> str:
    return "i" if case_insensitive else "s"
