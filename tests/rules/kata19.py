"""Kata 19 (benchmarking): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

S = "test_benchmarking_stats.py::"
T = "test_benchmarking_timer.py::"
M = "test_benchmarking_measure.py::"
C = "test_benchmarking_compare.py::"
R = "test_benchmarking_report.py::"

SECTIONS = ["The API", "Conventions"]

HAND = S + "test_statistics_on_hand_computed_examples"
RANDOM = S + "test_statistics_match_numpy_on_random_lists"
T_TEST = S + "test_t_critical_uses_the_table_then_the_expansion"
DEFAULTS = M + "test_benchmark_stores_its_arguments_and_defaults"
CALLS = T + "test_latency_calls_each_model_warmup_plus_measurement_times"
EXCLUDES = T + "test_latency_excludes_warmup_and_times_each_run_in_ms"
SEEDED = T + "test_latency_input_is_the_seeded_tensor_shared_by_every_call"
MODES = T + "test_models_run_in_eval_mode_without_a_graph"
LAT_META = T + "test_latency_result_names_and_metadata"
ACC = M + "test_accuracy_is_the_fraction_right_per_dataset"
ONE_COL = M + "test_accuracy_of_a_one_column_output_thresholds_at_one_half"
ACC_IN = M + "test_accuracy_inputs_reach_the_model_as_tensors"
MEM = M + "test_memory_counts_the_stored_bytes"
SUITE = M + "test_suite_runs_latency_then_accuracy_then_memory"
PARETO = C + "test_pareto_keeps_exactly_the_non_dominated_points"
PARETO_BAD = C + "test_pareto_rejects_malformed_points"
EV_VALUES = C + "test_olympic_event_values_and_constraints"
EV_SCORES = C + "test_olympic_event_scores"
EV_BOUNDS = C + "test_olympic_event_violations_at_the_boundaries"
EV_ZERO = C + "test_olympic_event_score_rejects_division_by_zero"
FIELDS = R + "test_mlperf_report_fields"
STORES = R + "test_mlperf_stores_the_event_and_its_defaults"
TIES = R + "test_mlperf_winner_ties_and_none"
BASELINE = R + "test_mlperf_baseline_is_the_first_model_or_the_one_named"
JSON = R + "test_mlperf_report_is_plain_json"
WRITES = R + "test_generate_compliance_report_writes_the_json"
SAME = R + "test_same_inputs_give_the_same_report"

RULES = [
    # ---------------------------------------------------------------- the API block
    rule("DEFAULT_WARMUP_RUNS = 5", DEFAULTS, mutants=["warm-up default of 3"]),
    rule("DEFAULT_MEASUREMENT_RUNS = 10", DEFAULTS, mutants=["measurement default of 5"]),
    rule("T_TABLE_975 # given: t_{0.975, df} for df = 1..30", T_TEST,
         mutants=["t table indexed by df, not df - 1"]),
    rule("Z_975 = 1.959963984540054 # given", T_TEST,
         why_no_mutant="a constant given in the stub; any z within 1e-3 of it keeps every t inside "
                       "the tests' tolerance, so only a wholly different z could fail, and that is "
                       "the 'normal 1.96' mutant of the expansion rule"),
    rule("def t_critical(df) -> float", T_TEST, mutants=["t beyond the table is the normal 1.96"]),
    rule("def __init__(self, metric_name, values, metadata=None)", S + "test_each_result_gets_its_own_metadata",
         mutants=["metadata default shared by every result"]),
    rule("percentile(p) -> float", S + "test_percentile_is_numpys_linear_rule",
         mutants=["percentile by nearest rank"]),
    rule("to_dict() -> dict", S + "test_to_dict_has_the_documented_keys_and_is_json",
         mutants=["to_dict names min and max like the attributes"]),
    rule("def precise_timer(clock=time.perf_counter) # a context manager", T + "test_precise_timer_defaults_to_perf_counter",
         mutants=["timer defaults to time.time"]),
    rule("def __init__(self, models, datasets, warmup_runs=5, measurement_runs=10, clock=time.perf_counter, seed=42)",
         DEFAULTS, SUITE, mutants=["warm-up default of 3", "suite drops its clock and run counts"]),
    rule("run_latency_benchmark(input_shape=(1, 28, 28)) -> dict", SEEDED,
         mutants=["latency default input_shape without the batch axis"]),
    rule("run_accuracy_benchmark() -> dict", ACC, mutants=["accuracy labels not flattened (broadcast to N x N)"]),
    rule("run_memory_benchmark() -> dict", MEM, mutants=["memory assumes 4 bytes per element"]),
    rule("run_full_benchmark(input_shape=(1, 28, 28)) -> dict", SUITE, mutants=["suite runs accuracy before latency"]),
    rule("def pareto_frontier(points, lower_is_better=True) -> list", C + "test_pareto_frontier_minimises_by_default",
         mutants=["pareto maximises by default"]),
    rule("class OlympicEvent(Enum): # members given", EV_VALUES,
         why_no_mutant="the members and their values are given in the stub; the tests check them "
                       "beside the constraints the learner writes"),
    rule("constraints -> tuple # a property", EV_VALUES, mutants=["constraints as lists"]),
    rule("violations(metrics) -> list", EV_BOUNDS, mutants=["violations stop at the first broken constraint"]),
    rule("satisfied(metrics) -> bool", EV_BOUNDS, mutants=["satisfied returns the violations"]),
    rule("score(metrics, baseline) -> float", EV_SCORES, mutants=["speedup inverted"]),
    rule("def __init__(self, event, random_seed=42, warmup_runs=5, measurement_runs=10, clock=time.perf_counter)",
         STORES, mutants=["MLPerf seed default 0"]),
    rule("run(models, datasets, input_shape=(1, 28, 28), baseline=None) -> dict", FIELDS, BASELINE,
         mutants=["report seed not passed to the suite"]),
    rule('generate_compliance_report(report, output_path="mlperf_report.json") -> str', WRITES,
         mutants=["compliance report written without indentation"]),
    # ---------------------------------------------------------------- t_critical
    rule("Returns Student's t quantile `t_{0.975, df}`, the multiplier of a two-sided 95% interval, "
         "as a Python float.", T_TEST, mutants=["t beyond the table is the normal 1.96"]),
    rule("For `1 <= df <= 30` it is `T_TABLE_975[df - 1]` (the stub gives the table).", T_TEST,
         mutants=["t table indexed by df, not df - 1"]),
    rule("For `df > 30` it is", T_TEST,
         mutants=["t expansion with one correction term", "t beyond the table is the normal 1.96"]),
    rule("`df` must be an int of at least 1 (a NumPy integer counts), otherwise `ValueError`.",
         S + "test_t_critical_rejects_bad_degrees_of_freedom", T_TEST, mutants=["t_critical accepts df = 0"]),
    # ---------------------------------------------------------------- BenchmarkResult
    rule("`values` is a list, tuple or 1-D ndarray of numbers; it is stored as `self.values`, a list of "
         "Python floats.", S + "test_values_are_stored_as_a_list_of_python_floats", mutants=["values kept as given"]),
    rule("An empty `values`, or one holding NaN or an infinity, raises `ValueError`.",
         S + "test_empty_or_non_finite_values_raise", mutants=["NaN values accepted"]),
    rule("`metadata` is stored as `self.metadata`; when it is omitted, a new empty dict for every result.",
         S + "test_each_result_gets_its_own_metadata", mutants=["metadata default shared by every result"]),
    rule("The statistics are attributes computed in the constructor, all Python floats except `count`:",
         HAND, RANDOM, mutants=["statistics as NumPy float32"]),
    rule("`count` | the number of values (an int)", HAND, mutants=["count as a NumPy integer"]),
    rule("`mean` | their mean", HAND, RANDOM, mutants=["mean computed in float32"]),
    rule("`std` | the sample standard deviation (divide by `count - 1`); `0.0` when `count == 1`", HAND, RANDOM,
         mutants=["population standard deviation (ddof=0)", "std of a single value is nan"]),
    rule("`median` | the middle value of the sorted values; the mean of the two middle ones for an even count",
         HAND, RANDOM, mutants=["median of the unsorted values", "median of an even count is the upper middle value"]),
    rule("`min_val`, `max_val` | the smallest and the largest value", HAND, RANDOM,
         mutants=["max_val is the last value"]),
    rule("`ci_lower`, `ci_upper` | `mean -/+ t_critical(count - 1) * std / sqrt(count)`; both equal `mean` "
         "when `count == 1`", HAND, RANDOM,
         mutants=["interval with the normal 1.96", "interval with count degrees of freedom",
                  "interval without the square root of the count"]),
    rule("`percentile(p)`, `p` in `[0, 100]`, is NumPy's default (linear) percentile of the values",
         S + "test_percentile_is_numpys_linear_rule", mutants=["percentile by nearest rank"]),
    rule("`to_dict()` returns a new dict (with a new `values` list) with exactly the keys",
         S + "test_to_dict_has_the_documented_keys_and_is_json",
         mutants=["to_dict names min and max like the attributes", "to_dict shares the values list"]),
    # ---------------------------------------------------------------- precise_timer
    rule("A context manager (`contextlib.contextmanager` is the easy way) that yields a timer object; when the "
         "block exits, `timer.elapsed` is the clock's value at the exit minus its value at the entry, in "
         "seconds, as a Python float.", T + "test_precise_timer_measures_exit_minus_entry",
         mutants=["timer in milliseconds"]),
    rule("`elapsed` is set also when the block raises, and the exception propagates.",
         T + "test_precise_timer_sets_elapsed_when_the_block_raises",
         mutants=["timer without finally", "timer swallows the exception"]),
    rule("`clock` is any function returning seconds; the default `time.perf_counter` is monotonic and high "
         "resolution", T + "test_precise_timer_defaults_to_perf_counter", mutants=["timer defaults to time.time"]),
    # ---------------------------------------------------------------- Benchmark
    rule("Stores `models` and `datasets` (as lists), `warmup_runs`, `measurement_runs`, `clock` and `seed` as "
         "attributes of the same names.", DEFAULTS, mutants=["datasets stored as given"]),
    rule("`warmup_runs` must be an int `>= 0` and `measurement_runs` an int `>= 1`, otherwise `ValueError`.",
         M + "test_benchmark_validates_run_counts",
         mutants=["zero measurement runs accepted", "fractional run counts accepted"]),
    rule("`self.names`: each model's `name` attribute, or `f\"model_{i}\"` (its position, from 0) when it has "
         "none; two models with the same name raise `ValueError` naming it.",
         M + "test_model_names_default_and_must_be_unique",
         mutants=["model names counted from 1", "duplicate model names accepted"]),
    rule("`self.system_info` is the dict", M + "test_system_info_describes_the_machine",
         mutants=["system info without the NumPy version"]),
    rule("Each `run_*` method returns a dict from model name to a `BenchmarkResult`, in the order of `models`.",
         EXCLUDES, ACC, MEM, mutants=["latency results keyed by metric name"]),
    rule("A model is called as `model(x)`.", CALLS, ACC_IN,
         why_no_mutant="the fake models are plain callables: a harness calling model.forward or "
                       "model.predict instead crashes on every benchmark test with an AttributeError "
                       "naming that method, already a pointed message"),
    rule("Every call runs inside kata 06's `no_grad()`.", MODES, mutants=["model calls record a graph (no no_grad)"]),
    rule("A model that has an `eval()` method is put in eval mode (`model.eval()`) before its first call; if "
         "its `training` attribute was True before, `model.train()` is called after its last call, also when "
         "a call raises.", MODES,
         mutants=["models benchmarked in training mode", "training mode not restored",
                  "eval-mode model switched to training afterwards", "mode not restored when a call raises"]),
    rule("`run_latency_benchmark(input_shape)` builds one input", SEEDED,
         mutants=["latency input not seeded", "latency input in float64"]),
    rule("For each model in turn: `warmup_runs` calls whose times are thrown away, then `measurement_runs` "
         "calls, each timed on its own with `clock`.", CALLS, EXCLUDES,
         mutants=["no warm-up calls", "warm-up runs timed and kept", "all runs timed together"]),
    rule("Its values are those times in milliseconds; `metric_name` is `f\"{name}_latency_ms\"`; metadata holds "
         "at least", EXCLUDES, LAT_META,
         mutants=["latency in seconds", "latency metadata input_shape as a tuple"]),
    rule("`run_accuracy_benchmark()`: every dataset is a pair `(inputs, labels)`; the model is called once per "
         "dataset on `inputs` (an ndarray is wrapped as `Tensor(inputs)`).", ACC_IN,
         mutants=["accuracy inputs not wrapped in a Tensor"]),
    rule("Labels (an ndarray, a list or a Tensor, of shape `(N,)` or `(N, 1)`) are compared sample by sample "
         "with the predicted classes", ACC, ONE_COL,
         mutants=["accuracy labels not flattened (broadcast to N x N)", "threshold strictly above 0.5",
                  "accuracy one column through argmax"]),
    rule("There is one value per dataset, the fraction of its samples classified right", ACC, ACC_IN,
         mutants=["accuracy pooled over all datasets"]),
    rule("`run_memory_benchmark()` measures the bytes a model stores", MEM,
         mutants=["memory assumes 4 bytes per element", "memory_bytes() ignored"]),
    rule("It records one value, the bytes divided by `1024 ** 2` (megabytes)", MEM,
         mutants=["memory in decimal megabytes"]),
    # ---------------------------------------------------------------- BenchmarkSuite
    rule("`self.benchmark` is a `Benchmark` built from the same arguments.", SUITE,
         mutants=["suite drops its clock and run counts"]),
    rule("`run_full_benchmark(input_shape)` runs the latency, then the accuracy, then the memory benchmark",
         SUITE, mutants=["suite runs accuracy before latency"]),
    # ---------------------------------------------------------------- pareto_frontier
    rule("`points` is a list of points (or a 2-D array), each a sequence of the same number of objectives",
         PARETO, mutants=["pareto tests an array's truth value"]),
    rule("`lower_is_better` is one bool for every objective, or a sequence of one bool per objective",
         PARETO, mutants=["pareto ignores lower_is_better"]),
    rule("A point dominates another when it is at least as good in every objective and strictly better in at "
         "least one.", PARETO,
         mutants=["pareto needs strict dominance in every objective", "pareto: equal points knock each other out"]),
    rule("Returns the indices of the points that no other point dominates, in ascending order, as Python ints; "
         "an empty `points` gives `[]`.", PARETO, mutants=["pareto returns NumPy integers"]),
    rule("Points of different lengths, a NaN or an infinity, or a `lower_is_better` sequence of the wrong "
         "length raise `ValueError`.", PARETO_BAD,
         mutants=["pareto accepts NaN", "pareto broadcasts one flag to every objective"]),
    # ---------------------------------------------------------------- OlympicEvent
    rule("The five events of kata 20 are the members (given in the stub, with TinyTorch's values).", EV_VALUES,
         why_no_mutant="the members are given in the stub, not written by the learner"),
    rule("`metrics` and `baseline` are dicts with the keys", EV_SCORES, mutants=["score reads the key 'memory'"]),
    rule("With `speedup = baseline[\"latency_ms\"] / metrics[\"latency_ms\"]`", EV_SCORES,
         mutants=["speedup inverted", "retention inverted"]),
    rule("`LATENCY_SPRINT` | `\"latency_sprint\"` | `speedup`", EV_VALUES, EV_SCORES, EV_BOUNDS,
         mutants=["speedup inverted", "accuracy bound is strict"]),
    rule("`MEMORY_CHALLENGE` | `\"memory_challenge\"` | `compression`", EV_VALUES, EV_SCORES,
         mutants=["memory challenge scores the speedup"]),
    rule("`ACCURACY_CONTEST` | `\"accuracy_contest\"` | `metrics[\"accuracy\"]`", EV_VALUES, EV_BOUNDS,
         mutants=["constraints as lists", "latency bound is inclusive"]),
    rule("`ALL_AROUND` | `\"all_around\"` | `(speedup * compression * retention) ** (1/3)` | `()`", EV_SCORES,
         mutants=["all-around arithmetic mean"]),
    rule("`EXTREME_PUSH` | `\"extreme_push\"` | `speedup * compression`", EV_VALUES, EV_SCORES,
         mutants=["extreme push adds speedup and compression", "extreme push bound of 0.85"]),
    rule("A higher score is better in every event; `score` returns a Python float.", EV_SCORES, FIELDS,
         mutants=["winner is the lowest score"]),
    rule("`score` raises `ValueError` when a ratio it needs would divide by zero.", EV_ZERO,
         mutants=["score divides by zero into infinity"]),
    rule("`violations(metrics)` returns, in the order of `constraints`, the text", EV_BOUNDS,
         mutants=["accuracy bound is strict", "latency bound is inclusive",
                  "violations stop at the first broken constraint"]),
    rule("`satisfied(metrics)` is True exactly when there are no violations.", EV_BOUNDS,
         mutants=["satisfied returns the violations"]),
    # ---------------------------------------------------------------- MLPerf
    rule("`event` is an `OlympicEvent` or its value (`\"latency_sprint\"`); it is stored as the member in "
         "`self.event`, and an unknown value raises `ValueError`.", STORES, mutants=["MLPerf keeps the event as given"]),
    rule("`run(models, datasets, input_shape, baseline)` benchmarks every model with a", FIELDS,
         mutants=["report seed not passed to the suite"]),
    rule("`baseline` is the name of the reference model (default: the first model); a name that is not a "
         "model's raises `ValueError` before any model is called.", BASELINE, FIELDS,
         mutants=["scores against the first model whatever the baseline", "unknown baseline found only after running"]),
    rule("`generate_compliance_report(report, output_path)` writes", WRITES,
         mutants=["compliance report written without indentation"]),
    rule("The report is a dict of plain JSON values", JSON,
         mutants=["report input_shape as a tuple", "constraints_met as a NumPy bool"]),
    rule('"schema_version": 1,', FIELDS, mutants=["schema version as TinyTorch's '1.0'"]),
    rule('"event": "latency_sprint", # the event\'s value', FIELDS, mutants=["event recorded by its member name"]),
    rule('"random_seed": 42,', FIELDS, STORES, mutants=["MLPerf seed default 0"]),
    rule('"system": {...}, # Benchmark.system_info', FIELDS, mutants=["report system info reduced to the platform"]),
    rule('"protocol": {"warmup_runs": 5,', FIELDS, mutants=["confidence level as a percentage"]),
    rule('"baseline": "base",', FIELDS, BASELINE, mutants=["scores against the first model whatever the baseline"]),
    rule('"models": {"base": {"latency_ms": {...},', FIELDS, mutants=["report keeps only the mean accuracy"]),
    rule('"pareto_frontier": ["base", ...],', FIELDS, mutants=["report frontier treats accuracy as lower-is-better"]),
    rule('"winner": "base", # or None', FIELDS, TIES, mutants=["winner ignores the constraints"]),
    rule("`models` has one entry per model, in the order of `models`", FIELDS,
         mutants=["report keeps only the mean accuracy"]),
    rule("`pareto_frontier` lists, in model order, the names of the models on the frontier", FIELDS,
         mutants=["report frontier treats accuracy as lower-is-better"]),
    rule("`winner` is the model with the highest score among those whose `constraints_met` is True (the first "
         "in model order on a tie), or `None` when no model meets the constraints.", FIELDS, TIES,
         mutants=["winner ignores the constraints", "winner is the lowest score", "winner on a tie is the last"]),
    # ---------------------------------------------------------------- Conventions
    rule("Latencies are in milliseconds, `elapsed` in seconds, memory in megabytes of `1024 ** 2` bytes, "
         "accuracy a fraction in `[0, 1]`.", EXCLUDES, T + "test_precise_timer_measures_exit_minus_entry", MEM,
         mutants=["latency in seconds", "timer in milliseconds", "memory in decimal megabytes"]),
    rule("Statistics are computed in float64 and must match to a relative `1e-9`", HAND, RANDOM,
         mutants=["mean computed in float32", "one-pass variance loses digits"]),
    rule("loses most of its digits when the spread is small against the mean", HAND,
         mutants=["one-pass variance loses digits"]),
    rule("The interval is Student's t: t, not bootstrap", HAND, RANDOM, mutants=["interval with the normal 1.96"]),
    rule("Equal points never dominate each other: both stay on the frontier.", PARETO,
         mutants=["pareto: equal points knock each other out"]),
    rule("A point that ties another in some objectives and is better in at least one, worse in none, "
         "dominates it.", PARETO, mutants=["pareto needs strict dominance in every objective"]),
    rule("Warm-up calls never reach a result, whatever they cost: they are run, not measured.", EXCLUDES,
         mutants=["warm-up runs timed and kept"]),
    rule("the same models, datasets, seed and clock give the same report, bit for bit.", SAME,
         mutants=["report records a timestamp"]),
]

PROSE = [
    "class BenchmarkResult:",
    "class Benchmark:",
    "class BenchmarkSuite:",
    "class MLPerf:",
    "TinyTorch's interval uses the normal 1.96 for every count",
    "TinyTorch scores a model without an `evaluate` method against synthetic labels",
    "TinyTorch's suite also \"estimates\" energy from a made-up formula",
    "TinyTorch's `MLPerf` draws random inputs and random labels for four fixed tasks",
]
