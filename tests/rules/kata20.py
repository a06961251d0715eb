"""Kata 20 (capstone): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

E = "test_olympics_events.py::"
M = "test_olympics_measure.py::"
S = "test_olympics_submission.py::"

SECTIONS = ["The API", "Conventions"]

OPT = E + "test_optimize_meets_the_event_on_the_graders_measurements"
CLAIMS = E + "test_submission_claims_are_reproduced"
GIVEN = E + "test_given_code_and_baseline_are_as_documented"
ACC = M + "test_accuracy_is_the_fraction_of_argmax_hits"
ACC_FORMS = M + "test_accuracy_labels_in_every_documented_form"
ACC_MODE = M + "test_accuracy_runs_in_eval_mode_without_a_graph_and_restores_the_mode"
SIZE = M + "test_size_counts_each_stored_array_once_in_bytes"
SIZE_REAL = M + "test_size_of_a_real_layer_stack"
ALT = M + "test_speedup_alternates_the_models_and_calls_each_warmup_plus_runs_times"
RATIO = M + "test_speedup_is_the_ratio_of_medians_after_warmup"
SP_MODE = M + "test_speedup_runs_in_eval_mode_without_a_graph_on_a_tensor"
SP_DEF = M + "test_speedup_defaults"
SP_BAD = M + "test_speedup_rejects_bad_counts"
SP_ZERO = M + "test_speedup_rejects_a_zero_model_median"
AT = S + "test_check_event_values_exactly_at_the_bounds_pass"
BELOW = S + "test_check_event_reports_a_value_just_below_its_bound"
ORDER = S + "test_check_event_lists_every_broken_constraint_in_order"
MEMBER = S + "test_check_event_accepts_the_olympic_event_member_and_rejects_unknown_events"
FIELDS = S + "test_generate_submission_has_the_documented_fields"
NEWLIST = S + "test_generate_submission_gives_a_new_techniques_list"
VALID = S + "test_validate_accepts_a_valid_submission"
NAMES = S + "test_validate_names_the_bad_field"
SAVE = S + "test_save_writes_the_json_and_round_trips"
SAVE_VAL = S + "test_save_validates_before_writing"
ATOMIC = S + "test_save_is_atomic_under_an_injected_failure"
DEFAULT = S + "test_save_default_path"
LOAD = S + "test_load_validates"

GIVEN_WHY = ("given code in the stub; the test checks it is left as given (the grader builds its own baseline "
             "with a copy of it), and a learner's edit of it is no plausible wrong solution of the kata")

RULES = [
    # ---------------------------------------------------------------- the API block
    rule("SCHEMA_VERSION = 1 # given", GIVEN, FIELDS, why_no_mutant=GIVEN_WHY),
    rule("SLACK = 1e-9 # given", GIVEN, AT, why_no_mutant=GIVEN_WHY),
    rule("EVENTS = {...} # given: the table below", GIVEN, AT, why_no_mutant=GIVEN_WHY),
    rule("def load_digits() # given", GIVEN, why_no_mutant=GIVEN_WHY),
    rule("def build_baseline(seed=0, hidden=256) # given", GIVEN, why_no_mutant=GIVEN_WHY),
    rule("def train_baseline(model, train_data, epochs=2, lr=0.05, batch_size=50, seed=0) # given", GIVEN,
         why_no_mutant=GIVEN_WHY),
    rule("def measure_accuracy(model, x, y) -> float", ACC, ACC_FORMS,
         mutants=["accuracy labels not flattened (broadcast to N x N)"]),
    rule("def model_size_bytes(model) -> int", SIZE, SIZE_REAL, mutants=["size in megabytes"]),
    rule("def measure_speedup(baseline, model, x, warmup=3, runs=11, clock=time.perf_counter) -> float", SP_DEF,
         mutants=["speedup default of 10 runs"]),
    rule("def check_event(event, metrics) -> list", ORDER, mutants=["check_event stops at the first broken constraint"]),
    rule("def optimize(event, model, train_data) # your strategy", OPT,
         mutants=["latency sprint pruned too hard", "memory challenge without quantization"]),
    rule('def generate_submission(event, baseline, optimized, techniques=(), author="anonymous") -> dict',
         FIELDS, NEWLIST, mutants=["techniques kept as the caller's object"]),
    rule("def validate_submission(submission) -> None", VALID, NAMES, mutants=["validator allows extra keys"]),
    rule('def save_submission(submission, filepath="submission.json") -> str', SAVE, DEFAULT,
         mutants=["save default path results.json"]),
    rule('def load_submission(filepath="submission.json") -> dict', SAVE, DEFAULT, LOAD,
         mutants=["load does not validate"]),
    # ---------------------------------------------------------------- the events
    rule("The event names are the values of kata 19's `OlympicEvent`; `event` may be the name or the member",
         MEMBER, FIELDS, mutants=["event stored as the member"]),
    rule("With `speedup` = baseline latency / your latency, `compression_ratio` = baseline bytes / your bytes and "
         "`accuracy_delta` = your accuracy - baseline accuracy (a fraction: 0.05 is 5 points)",
         FIELDS, RATIO, mutants=["compression ratio inverted", "accuracy delta in points", "speedup inverted"]),
    rule("`latency_sprint` | 2.0 | None | -0.05", AT, BELOW, OPT, mutants=["latency sprint pruned too hard"]),
    rule("`memory_challenge` | None | 5.0 | -0.05", AT, BELOW, OPT, mutants=["memory challenge without quantization"]),
    rule("`accuracy_contest` | 0.5 | 1.0 | 0.02", AT, BELOW, OPT, mutants=["constraint slack of a whole point"]),
    rule("`all_around` | 1.5 | 2.0 | -0.03", AT, BELOW, ORDER, OPT,
         mutants=["check_event stops at the first broken constraint"]),
    rule("`None` means the event does not constrain that metric.", ORDER,
         mutants=["check_event treats None as a bound of 0"]),
    rule("Kata 19's fifth event, `extreme_push`, is not graded here.", MEMBER,
         why_no_mutant="no plausible solution adds an event the table does not list; the test checks that "
                       "check_event rejects it"),
    # ---------------------------------------------------------------- given code
    rule("`load_digits()` returns TinyDigits with every image flattened", GIVEN, why_no_mutant=GIVEN_WHY),
    rule("The test split is the held-out split: only `generate_submission` and the grader use it.", CLAIMS,
         mutants=["accuracy measured on the training split"]),
    rule("`build_baseline(seed=0, hidden=256)` seeds NumPy's global generator with `seed`", GIVEN,
         why_no_mutant=GIVEN_WHY),
    rule("`train_baseline` trains it with SGD (momentum 0.9) and cross-entropy", GIVEN, why_no_mutant=GIVEN_WHY),
    rule("The grader builds its baseline with the same code", GIVEN, OPT, why_no_mutant=GIVEN_WHY),
    # ---------------------------------------------------------------- measure_accuracy
    rule("The fraction of samples whose predicted class, the argmax over the last axis of `model(x)`, equals the "
         "label, as a Python float.", ACC, CLAIMS, mutants=["optimized accuracy measured on the baseline"]),
    rule("`x` is an ndarray (wrapped as a float32 `Tensor`) or a Tensor; `y` an ndarray, list or Tensor of shape "
         "`(N,)` or `(N, 1)`.", ACC_FORMS, ACC_MODE, mutants=["accuracy labels not flattened (broadcast to N x N)"]),
    rule("The model runs in eval mode (`model.eval()`) inside kata 06's `no_grad()`", ACC_MODE,
         mutants=["models measured in training mode", "training mode not restored",
                  "models measured with autograd recording"]),
    # ---------------------------------------------------------------- model_size_bytes
    rule("The bytes the model stores: the sum of `.nbytes` over every NumPy array reachable", SIZE, SIZE_REAL,
         mutants=["gradients counted as stored weight", "dict values not followed"]),
    rule("Each array counts once, however many places refer to it.", SIZE,
         why_no_mutant="the visited-set is what stops the walk on a cycle too, so a walk without it does not "
                       "finish; the test still pins a shared array counted four times with its own hint"),
    rule("Returns a Python int, in bytes (not elements, not megabytes)", SIZE, CLAIMS,
         mutants=["size in parameter entries, not bytes", "size assumes 4 bytes per entry", "size in megabytes"]),
    # ---------------------------------------------------------------- measure_speedup
    rule("Both models run on the same input `x` (an ndarray is wrapped as a float32 Tensor), in eval mode inside "
         "`no_grad()`", SP_MODE, ACC_MODE, mutants=["models measured in training mode"]),
    rule("First `warmup` rounds of `baseline(x)` then `model(x)`, not timed; then `runs` rounds", ALT, RATIO,
         mutants=["speedup without warm-up", "warm-up rounds timed with the runs",
                  "speedup times all baseline runs, then all model runs"]),
    rule("Returns `median(baseline times) / median(model times)` as a Python float", RATIO, CLAIMS,
         mutants=["speedup as a ratio of means", "speedup in absolute terms (the model's time)", "speedup inverted"]),
    rule("`warmup` must be an int `>= 0` and `runs` an int `>= 1`, otherwise `ValueError`; so is a model median of 0.",
         SP_BAD, SP_ZERO, mutants=["speedup accepts a float warm-up count", "zero model median divides by zero"]),
    # ---------------------------------------------------------------- check_event
    rule('`metrics` is a dict with the keys `"speedup"`, `"compression_ratio"` and `"accuracy_delta"`.', AT, ORDER,
         why_no_mutant="every check_event reads these keys; a solution reading other keys crashes on every test"),
    rule('Returns, in that order, the text `f"{metric} >= {bound}"`', BELOW, ORDER,
         mutants=["check_event stops at the first broken constraint", "check_event treats None as a bound of 0"]),
    rule("A constraint holds when `value >= bound - SLACK`", AT, BELOW,
         mutants=["constraint check with > instead of >=", "constraint check without the float slack",
                  "constraint slack of a whole point"]),
    # ---------------------------------------------------------------- optimize
    rule("Your strategy: returns a model meeting the event's constraints", OPT,
         mutants=["latency sprint pruned too hard", "memory challenge without quantization"]),
    rule("It must leave the `model` it is given unchanged", OPT, mutants=["optimize prunes the baseline in place"]),
    rule("It must not touch the test split, and it must be deterministic and take seconds.", OPT, CLAIMS,
         why_no_mutant="the grader cannot see what optimize reads; it re-measures on the held-out split, and the "
                       "per-test time budget bounds the time; determinism shows as claims that reproduce"),
    rule("The returned model takes `(N, 64)` float32 Tensors and returns `(N, 10)` logits.", OPT,
         why_no_mutant="every optimization kept from the baseline keeps the shapes; the grader's accuracy checks "
                       "the output shape and fails with it"),
    # ---------------------------------------------------------------- generate_submission
    rule("Measures both models on the test split of `load_digits()` with your three measuring functions", CLAIMS,
         FIELDS, mutants=["accuracy measured on the training split", "optimized accuracy measured on the baseline",
                          "submission times the models the wrong way round"]),
    rule('"schema_version": 1,', FIELDS, why_no_mutant="the given SCHEMA_VERSION is written as is"),
    rule('"event": "latency_sprint", # the event\'s name, also when given a member', FIELDS,
         mutants=["event stored as the member"]),
    rule('"author": "anonymous",', FIELDS, NEWLIST,
         why_no_mutant="the author is passed through; the test checks both a given one and the default"),
    rule('"techniques": ["structured_prune", "fine_tune"], # a new list of str', NEWLIST, FIELDS,
         mutants=["techniques kept as the caller's object"]),
    rule('"baseline": {"accuracy": 0.83, "size_bytes": 340008},', FIELDS, CLAIMS, GIVEN,
         mutants=["accuracy measured on the training split"]),
    rule('"optimized": {"accuracy": 0.875, "size_bytes": 13864},', FIELDS, CLAIMS,
         mutants=["optimized accuracy measured on the baseline"]),
    rule('"improvements": {"speedup": 6.7, "compression_ratio": 24.52, "accuracy_delta": 0.045},', FIELDS, CLAIMS,
         mutants=["compression ratio inverted", "accuracy delta in points"]),
    rule('"constraints_met": True,', FIELDS, CLAIMS, mutants=["submission says its constraints fail when they hold"]),
    rule('"violations": [],', FIELDS, CLAIMS, mutants=["submission says its constraints fail when they hold"]),
    rule("`improvements` holds the three metrics of `check_event`; `violations` is `check_event(event, improvements)`",
         FIELDS, CLAIMS, mutants=["submission says its constraints fail when they hold"]),
    # ---------------------------------------------------------------- validate_submission
    rule("Returns None for a valid submission; otherwise raises `ValueError` whose message names the first bad field",
         VALID, NAMES, mutants=["validator does not name the missing field"]),
    rule("The keys are exactly those above", NAMES, mutants=["validator allows extra keys"]),
    rule("`schema_version` is the int 1; `event` one of the four event names", NAMES,
         why_no_mutant="each type rule is its own drawn case of the test (schema_version 2 and True, an unknown "
                       "event, an int author, a tuple of techniques, a non-str technique, a non-bool "
                       "constraints_met); the bool-as-number mutant stands for the class"),
    rule("Accuracies are numbers in `[0, 1]`; sizes ints `> 0`", NAMES,
         mutants=["validator accepts accuracy in points"]),
    rule("A number is an int or a float that is finite; a bool is not a number.", NAMES, VALID,
         mutants=["validator accepts a bool as a number"]),
    rule("The submission must be consistent", NAMES, mutants=["validator trusts the violations"]),
    # ---------------------------------------------------------------- save / load
    rule("Validates first: an invalid submission raises `ValueError` and writes nothing.", SAVE_VAL,
         mutants=["save writes without validating"]),
    rule("Writes `json.dumps(submission, indent=2, allow_nan=False)` to a temporary file in the folder of "
         "`filepath`, then moves it over `filepath` with `os.replace`", SAVE, ATOMIC,
         mutants=["save writes compact JSON", "non-atomic save (writes the target in place)",
                  "temporary file in the system's temp folder"]),
    rule("If anything fails, the temporary file is removed and the error propagates", ATOMIC,
         mutants=["temporary file left behind on failure"]),
    rule("Returns the absolute path written, as a str.", SAVE, DEFAULT, mutants=["save returns the path as given"]),
    rule("Reads the JSON back, validates it (`ValueError` when invalid) and returns the dict", SAVE, LOAD,
         mutants=["load does not validate"]),
    # ---------------------------------------------------------------- conventions
    rule("Accuracy is a fraction in `[0, 1]` on the held-out test split, size is in bytes, latency is only ever "
         "relative to the baseline timed in the same run.", CLAIMS, RATIO,
         mutants=["accuracy measured on the training split", "speedup in absolute terms (the model's time)"]),
    rule('A metric that is a ratio is "higher is better"', RATIO, FIELDS,
         mutants=["speedup inverted", "compression ratio inverted"]),
    rule("Timing alternates the two models", ALT, RATIO,
         mutants=["speedup times all baseline runs, then all model runs", "speedup as a ratio of means"]),
]

PROSE = [
    "at least 2x faster, at most 5 points of accuracy lost",
    "TinyTorch's capstone saves a submission that it measured once",
]
