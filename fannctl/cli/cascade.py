"""fannctl cascade: grow a shortcut network with Cascade2, as fann_cascadetrain_on_data."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render


def _opt(*names: str, help: str | None = None):
    return typer.Option(*names, help=help)


def cascade(
    net_path: Annotated[
        str, typer.Argument(metavar="NET", help="A shortcut network (.h5 or .net).")
    ],
    data_path: Annotated[str, typer.Argument(metavar="DATA", help="Training data.")],
    output: options.Output = None,
    max_neurons: Annotated[int, _opt("--max-neurons", help="Install at most N neurons.")] = 30,
    desired_error: options.DesiredError = 0.0001,
    neurons_between_reports: Annotated[
        int, _opt("--neurons-between-reports", help="Report every N neurons (0: never).")
    ] = 1,
    algorithm: Annotated[
        str | None, _opt("--algorithm", "-a", help="rprop, quickprop or sarprop.")
    ] = None,
    stop_function: Annotated[str | None, _opt("--stop-function", help="mse or bit.")] = None,
    bit_fail_limit: Annotated[float | None, _opt("--bit-fail-limit")] = None,
    error_function: Annotated[str | None, _opt("--error-function", help="tanh or linear.")] = None,
    learning_rate: Annotated[float | None, _opt("--learning-rate")] = None,
    output_change_fraction: Annotated[
        float | None, _opt("--output-change-fraction", "--cascade-output-change-fraction")
    ] = None,
    output_stagnation_epochs: Annotated[
        int | None, _opt("--output-stagnation-epochs", "--cascade-output-stagnation-epochs")
    ] = None,
    candidate_change_fraction: Annotated[
        float | None, _opt("--candidate-change-fraction", "--cascade-candidate-change-fraction")
    ] = None,
    candidate_stagnation_epochs: Annotated[
        int | None,
        _opt("--candidate-stagnation-epochs", "--cascade-candidate-stagnation-epochs"),
    ] = None,
    min_out_epochs: Annotated[
        int | None, _opt("--min-out-epochs", "--cascade-min-out-epochs")
    ] = None,
    max_out_epochs: Annotated[
        int | None, _opt("--max-out-epochs", "--cascade-max-out-epochs")
    ] = None,
    min_cand_epochs: Annotated[
        int | None, _opt("--min-cand-epochs", "--cascade-min-cand-epochs")
    ] = None,
    max_cand_epochs: Annotated[
        int | None, _opt("--max-cand-epochs", "--cascade-max-cand-epochs")
    ] = None,
    candidate_limit: Annotated[
        float | None, _opt("--candidate-limit", "--cascade-candidate-limit")
    ] = None,
    weight_multiplier: Annotated[
        float | None, _opt("--weight-multiplier", "--cascade-weight-multiplier")
    ] = None,
    activation_functions: Annotated[
        str | None,
        _opt(
            "--activation-functions",
            "--cascade-activation-functions",
            help="Candidate functions, comma-separated names.",
        ),
    ] = None,
    activation_steepnesses: Annotated[
        str | None,
        _opt(
            "--activation-steepnesses",
            "--cascade-activation-steepnesses",
            help="Candidate steepnesses, comma-separated.",
        ),
    ] = None,
    num_candidate_groups: Annotated[
        int | None, _opt("--num-candidate-groups", "--cascade-num-candidate-groups")
    ] = None,
    fix_quirks: Annotated[
        bool,
        _opt(
            "--fix-quirks",
            help="Give each output its own candidate weight (FANN 2.2 reverses them).",
        ),
    ] = False,
    test: Annotated[str | None, _opt("--test", help="Report MSE on this set at the end.")] = None,
    checkpoint_every: Annotated[
        str | None,
        _opt(
            "--checkpoint-every",
            help="Save the growth as it goes: every N neurons, or a time (30s, 5m).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        _opt(
            "--resume",
            help="Continue the interrupted growth the file holds (its neurons count "
            "toward --max-neurons).",
        ),
    ] = False,
    validation_split: Annotated[
        float | None,
        _opt(
            "--validation-split",
            help="Hold out this fraction of DATA as the test set (seeded by --seed, "
            "as 'fannctl data split').",
        ),
    ] = None,
    patience: Annotated[
        int,
        _opt(
            "--patience",
            help="Stop growing when the test MSE has not improved for N report points "
            "(needs --test or --validation-split; implies --keep-best; 0: never).",
        ),
    ] = 0,
    keep_best: Annotated[
        bool,
        _opt(
            "--keep-best",
            help="Save the network of the report point with the lowest test MSE "
            "(the default when --patience is given).",
        ),
    ] = False,
    seed: options.Seed = None,
    dtype: options.Dtype = None,
    device: options.CascadeDevice = None,
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Grow hidden neurons one at a time (Cascade2) and save the network.

    Parameters default to what the network file stores. --device says where the
    candidate epochs' elementwise work runs (auto: an OpenCL device's fused
    kernel when it measures faster on the first candidate pool, else numpy).

    Example: fannctl create spiral.h5 --shortcut --layers 2,1 --output-activation linear &&
    fannctl cascade spiral.h5 datasets/two-spiral.train.gz --max-neurons 30
    --desired-error 0 --stop-function bit --bit-fail-limit 0.4
    """
    with render.user_errors():
        from fannctl import jobs

        steepnesses = None
        if activation_steepnesses is not None:
            steepnesses = options.parse_float_list(
                activation_steepnesses, "--activation-steepnesses"
            )
        request = jobs.CascadeRequest(
            net_path,
            data_path,
            output=output,
            overrides=jobs.ParamOverrides(
                training_algorithm=algorithm,
                train_stop_function=stop_function,
                train_error_function=error_function,
                bit_fail_limit=bit_fail_limit,
                learning_rate=learning_rate,
                cascade_output_change_fraction=output_change_fraction,
                cascade_output_stagnation_epochs=output_stagnation_epochs,
                cascade_candidate_change_fraction=candidate_change_fraction,
                cascade_candidate_stagnation_epochs=candidate_stagnation_epochs,
                cascade_min_out_epochs=min_out_epochs,
                cascade_max_out_epochs=max_out_epochs,
                cascade_min_cand_epochs=min_cand_epochs,
                cascade_max_cand_epochs=max_cand_epochs,
                cascade_candidate_limit=candidate_limit,
                cascade_weight_multiplier=weight_multiplier,
                cascade_activation_functions=(
                    None if activation_functions is None else activation_functions.split(",")
                ),
                cascade_activation_steepnesses=steepnesses,
                cascade_num_candidate_groups=num_candidate_groups,
            ),
            max_neurons=max_neurons,
            desired_error=desired_error,
            neurons_between_reports=neurons_between_reports,
            fix_quirks=fix_quirks,
            test_data=test,
            seed=seed,
            dtype=dtype,
            device=device,
            command=render.command_line(),
            checkpoint_every=checkpoint_every,
            resume=resume,
            validation_split=validation_split,
            patience=patience,
            keep_best=True if keep_best else None,
        )
        reports = not quiet and neurons_between_reports
        progress = None
        if not quiet and render.is_tty():
            progress = render.EpochProgress(max_neurons, "growing")
        on_report = None
        if not quiet:
            header = f"Max neurons {max_neurons:3d}. Desired error: {desired_error:.6f}"
            on_report = _after_header(header, render.cascade_reporter(progress), progress)
        from fannctl import checkpoint

        try:
            with checkpoint.stop_on_signals() as stop:
                outcome = jobs.cascade_file(request, on_report=on_report, should_stop=stop)
        finally:
            if progress:
                progress.close()
        if outcome.lock_note:
            render.say(f"fannctl: note: {outcome.lock_note}", False)
        if reports and not outcome.stopped:
            render.say(
                f"Train outputs    Current error: {outcome.mse:.6f}. Epochs {outcome.epochs:6d}"
            )
        if outcome.test_mse is not None:
            render.say(
                f"Test error: {outcome.test_mse:.6f}. Bit fail {outcome.test_bit_fail}",
                quiet or json_out,
            )
        if json_out:
            render.emit_json(outcome.to_dict())
        if not outcome.stopped:
            render.say(render.cascade_summary(outcome, desired_error), quiet)
        if outcome.stopped:
            render.say(
                f"fannctl: {stop.signal_name} after {outcome.neurons_added} neurons: saved "
                f"{outcome.path}; resume with: {checkpoint.resume_hint(render.command_line())}",
                False,
            )
            raise typer.Exit(stop.exit_code)


def _after_header(header: str, report, progress):
    """FANN's opening line before the first report line (so after the inputs are checked)."""
    pending = [header]

    def on_report(item) -> None:
        if pending:
            line = pending.pop()
            if progress is not None:
                render.console().print(line, markup=False)  # above the live progress bar
            else:
                render.say(line)
        report(item)

    return on_report


def register(app: typer.Typer) -> None:
    app.command("cascade")(cascade)
