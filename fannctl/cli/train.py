"""fannctl train: train a network on a data set, as FANN's fann_train_on_data."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render

_FLOAT = Annotated[float | None, typer.Option()]


def train(
    net_path: Annotated[str, typer.Argument(metavar="NET", help="Network file (.h5 or .net).")],
    data_path: Annotated[
        str, typer.Argument(metavar="DATA", help="Training data: FANN .data(.gz), CSV, .npy/.npz.")
    ],
    output: options.Output = None,
    algorithm: Annotated[
        str | None,
        typer.Option("--algorithm", "-a", help="incremental, batch, rprop, quickprop, sarprop."),
    ] = None,
    max_epochs: options.MaxEpochs = 1000,
    desired_error: options.DesiredError = 0.0001,
    stop_function: Annotated[
        str | None, typer.Option("--stop-function", help="mse or bit.")
    ] = None,
    bit_fail_limit: Annotated[float | None, typer.Option("--bit-fail-limit")] = None,
    error_function: Annotated[
        str | None, typer.Option("--error-function", help="tanh (FANN's default) or linear.")
    ] = None,
    learning_rate: Annotated[float | None, typer.Option("--learning-rate")] = None,
    momentum: Annotated[float | None, typer.Option("--momentum")] = None,
    rprop_variant: Annotated[
        str | None, typer.Option("--rprop-variant", help="fann (default), irprop-, irprop+.")
    ] = None,
    rprop_increase_factor: Annotated[float | None, typer.Option("--rprop-increase-factor")] = None,
    rprop_decrease_factor: Annotated[float | None, typer.Option("--rprop-decrease-factor")] = None,
    rprop_delta_min: Annotated[float | None, typer.Option("--rprop-delta-min")] = None,
    rprop_delta_max: Annotated[float | None, typer.Option("--rprop-delta-max")] = None,
    rprop_delta_zero: Annotated[float | None, typer.Option("--rprop-delta-zero")] = None,
    quickprop_decay: Annotated[float | None, typer.Option("--quickprop-decay")] = None,
    quickprop_mu: Annotated[float | None, typer.Option("--quickprop-mu")] = None,
    sarprop_weight_decay_shift: Annotated[
        float | None, typer.Option("--sarprop-weight-decay-shift")
    ] = None,
    sarprop_step_error_threshold_factor: Annotated[
        float | None, typer.Option("--sarprop-step-error-threshold-factor")
    ] = None,
    sarprop_step_error_shift: Annotated[
        float | None, typer.Option("--sarprop-step-error-shift")
    ] = None,
    sarprop_temperature: Annotated[float | None, typer.Option("--sarprop-temperature")] = None,
    report_every: Annotated[
        int, typer.Option("--report-every", help="Report every N epochs (0: never).")
    ] = 100,
    test: Annotated[
        str | None, typer.Option("--test", help="Also report MSE on this data set.")
    ] = None,
    scale_inputs: Annotated[
        str | None,
        typer.Option("--scale-inputs", help="Store FANN's input scaling to MIN,MAX and use it."),
    ] = None,
    scale_outputs: Annotated[
        str | None,
        typer.Option("--scale-outputs", help="Store FANN's output scaling to MIN,MAX."),
    ] = None,
    output_columns: Annotated[
        str | None,
        typer.Option(
            "--output-columns",
            help="CSV/TSV: which columns are outputs (0-based "
            "indices or header names, comma-separated; default: the last ones).",
        ),
    ] = None,
    require_convergence: Annotated[
        bool, typer.Option("--require-convergence", help="Exit 1 if the target isn't reached.")
    ] = False,
    checkpoint_every: Annotated[
        str | None,
        typer.Option(
            "--checkpoint-every",
            help="Save the run as it goes: every N epochs, or a time (30s, 5m, 1h).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the interrupted run the file holds (its epochs count "
            "toward --max-epochs).",
        ),
    ] = False,
    allow_nan: Annotated[
        bool,
        typer.Option("--allow-nan", help="Keep training (and save) when weights turn NaN/Inf."),
    ] = False,
    validation_split: Annotated[
        float | None,
        typer.Option(
            "--validation-split",
            help="Hold out this fraction of DATA as the test set (seeded by --seed, "
            "stratified for class targets, as 'fannctl data split').",
        ),
    ] = None,
    patience: Annotated[
        int,
        typer.Option(
            "--patience",
            help="Stop when the test MSE has not improved for N report points "
            "(needs --test or --validation-split; implies --keep-best; 0: never).",
        ),
    ] = 0,
    keep_best: Annotated[
        bool,
        typer.Option(
            "--keep-best",
            help="Save the weights of the report point with the lowest test MSE "
            "(the default when --patience is given).",
        ),
    ] = False,
    output_activation: Annotated[str | None, typer.Option("--output-activation")] = None,
    weight_decay: Annotated[
        float | None,
        typer.Option(
            "--weight-decay",
            help="L2 weight decay L for batch, rprop, quickprop, sarprop: each epoch's "
            "slopes lose L x patterns x weight (fannctl's own; numpy only; not "
            "expressible in .net). Default: what NET stores (0).",
        ),
    ] = None,
    sample_weights: Annotated[
        str | None,
        typer.Option(
            "--sample-weights",
            metavar="FILE",
            help="One weight per training pattern: a number per line, or a CSV/TSV "
            "column with --sample-weight-column (batch-family algorithms; numpy only).",
        ),
    ] = None,
    sample_weight_column: Annotated[
        str | None,
        typer.Option(
            "--sample-weight-column",
            metavar="COLUMN",
            help="The column of the --sample-weights CSV/TSV file (header name or 0-based index).",
        ),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            help="K-fold cross-validation instead: K networks from NET's weights, each "
            "trained --max-epochs on all but one fold (one batched computation) and "
            "scored on it; prints the mean and spread of the test metrics; NET unchanged.",
        ),
    ] = None,
    seed: options.Seed = None,
    dtype: options.Dtype = None,
    device: options.Device = None,
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Train a network and save it (atomically replacing NET unless --output).

    Every training parameter defaults to what the network file stores. Ctrl-C or
    SIGTERM ends the run after the current epoch and saves a checkpoint that
    --resume continues; a second writer of the same file is refused.

    With a test set (--test, --validation-split) each report point records its
    test MSE; --patience stops early and the best test epoch's weights are
    saved. A summary line on stderr ends every run (not with --quiet).

    Example: fannctl train xor.h5 datasets/xor.data --algorithm rprop
    --desired-error 0.0001 --max-epochs 5000
    """
    with render.user_errors():
        from fannctl import jobs

        request = jobs.TrainRequest(
            net_path,
            data_path,
            output=output,
            overrides=jobs.ParamOverrides(
                training_algorithm=algorithm,
                train_stop_function=stop_function,
                train_error_function=error_function,
                bit_fail_limit=bit_fail_limit,
                learning_rate=learning_rate,
                learning_momentum=momentum,
                rprop_variant=rprop_variant,
                rprop_increase_factor=rprop_increase_factor,
                rprop_decrease_factor=rprop_decrease_factor,
                rprop_delta_min=rprop_delta_min,
                rprop_delta_max=rprop_delta_max,
                rprop_delta_zero=rprop_delta_zero,
                quickprop_decay=quickprop_decay,
                quickprop_mu=quickprop_mu,
                sarprop_weight_decay_shift=sarprop_weight_decay_shift,
                sarprop_step_error_threshold_factor=sarprop_step_error_threshold_factor,
                sarprop_step_error_shift=sarprop_step_error_shift,
                sarprop_temperature=sarprop_temperature,
                weight_decay=weight_decay,
            ),
            max_epochs=max_epochs,
            desired_error=desired_error,
            report_every=report_every,
            test_data=test,
            scale_inputs=options.parse_pair(scale_inputs, "--scale-inputs"),
            scale_outputs=options.parse_pair(scale_outputs, "--scale-outputs"),
            output_columns=None if output_columns is None else output_columns.split(","),
            seed=seed,
            dtype=dtype,
            device=device,
            command=render.command_line(),
            checkpoint_every=checkpoint_every,
            resume=resume,
            allow_nan=allow_nan,
            validation_split=validation_split,
            patience=patience,
            keep_best=True if keep_best else None,
            sample_weights=sample_weights,
            sample_weight_column=sample_weight_column,
            output_activation=output_activation,
            cv=cv,
        )
        if cv is not None:
            _cross_validate(request, json_out, quiet)
            return
        progress = None if quiet or not render.is_tty() else render.EpochProgress(max_epochs)
        on_report = None
        if not quiet:
            on_report = progress.report if progress else render.print_report
        from fannctl import checkpoint

        try:
            with checkpoint.stop_on_signals() as stop:
                outcome = jobs.train_file(request, on_report=on_report, should_stop=stop)
        finally:
            if progress:
                progress.close()
        if outcome.lock_note:
            render.say(f"fannctl: note: {outcome.lock_note}", False)
        if json_out:
            render.emit_json(outcome.to_dict())
        if not (outcome.diverged or outcome.stopped):  # those end with a line of their own
            render.say(render.train_summary(outcome, desired_error), quiet)
        if outcome.diverged:
            render.say(f"fannctl: error: {outcome.diverged}; saved {outcome.path}", False)
            raise typer.Exit(1)
        if outcome.stopped:
            render.say(
                f"fannctl: {stop.signal_name} after epoch {outcome.epochs}: saved "
                f"{outcome.path}; resume with: "
                f"{checkpoint.resume_hint(render.command_line())}",
                False,
            )
            raise typer.Exit(stop.exit_code)
        if require_convergence and not outcome.reached:
            render.say(f"fannctl: desired error {desired_error} not reached", False)
            raise typer.Exit(1)


def _cross_validate(request, json_out: bool, quiet: bool) -> None:
    """train --cv K: the folds' metrics, mean and spread, on stdout."""
    from fannctl import jobs

    result = jobs.crossval_file(request)
    if json_out:
        render.emit_json(result.to_dict())
    else:
        for key, stats in result.summary().items():
            print(
                f"{key}: mean {stats['mean']:.6g}, std {stats['std']:.6g} "
                f"(min {stats['min']:.6g}, max {stats['max']:.6g})"
            )
    render.say(
        f"fannctl: {result.folds}-fold cross-validation, {result.epochs} epochs per fold, "
        f"in {result.seconds:.2f} s (numpy, batched); {request.network} unchanged",
        quiet,
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train)
