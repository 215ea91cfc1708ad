"""The ``proxygym`` command line."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any, NoReturn

import gymnasium as gym

import proxygym
from proxygym.agents.hyperparameters import ALGORITHM_NAMES
from proxygym.sweeps.config import ENGINES, ConfigError, load_config
from proxygym.sweeps.runner import BACKENDS, SweepError, run_sweep

#: What the `agents` extra installs: commands that train, load or plot need these.
AGENTS_EXTRA = ("torch", "stable_baselines3", "pandas", "matplotlib")


def _missing_extra(error: ModuleNotFoundError, command: str) -> str | None:
    """The one-line message for a command run without the `agents` extra, else None."""
    name = (error.name or "").split(".")[0]
    if name not in AGENTS_EXTRA:
        return None
    return (
        f"proxygym {command} needs the agents extra ({name} is not installed): "
        "pip install -e '.[agents]' in a proxygym checkout"
    )


def _require_agents_extra() -> None:
    """Fail before any work when the `agents` extra is not installed."""
    for name in AGENTS_EXTRA:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _sweep(args: argparse.Namespace) -> int:
    _require_agents_extra()
    if args.ray_address is not None and args.backend != "ray":
        raise ValueError(
            f"--ray-address {args.ray_address!r} needs --backend ray "
            f"(the {args.backend} backend runs no Ray)"
        )
    config = load_config(args.file, engine=args.engine)
    out = args.out if args.out is not None else Path("runs") / config.name
    engine = " on the jax engine" if config.engine == "jax" else ""
    print(
        f"sweep {config.name}: {config.env} {config.algo.upper()}{engine}, axis {config.axis} "
        f"{list(config.levels)}, seeds {list(config.seeds)} -> {out}"
    )
    summary = run_sweep(
        config,
        out,
        workers=args.workers,
        backend=args.backend,
        ray_address=args.ray_address,
        progress=args.progress,
    )
    print(
        f"done in {summary.seconds:.0f} s: {len(summary.ran)} cells run, "
        f"{len(summary.skipped)} already done, {len(summary.failed)} failed. Results: {out}"
    )
    print(f"load them with: proxygym.sweeps.results.load({str(out)!r})")
    return 1 if summary.failed else 0


def _plot(args: argparse.Namespace) -> int:
    from proxygym.reporting.plots import plot_sweep

    for path in plot_sweep(args.directory, args.out):
        print(path)
    return 0


def _report(args: argparse.Namespace) -> int:
    from proxygym.reporting.report import write_report

    report = write_report(args.directory, args.out)
    print(f"report: {report.html}\nmarkdown: {report.markdown}\n{report.verdict}")
    return 0


def _detect(args: argparse.Namespace) -> int:
    from proxygym.analysis.detect import detection_table, format_detection, score_suspects

    suspects = score_suspects(args.directory, args.episodes, args.margin, args.seed)
    table = detection_table(suspects)
    print(format_detection(table, suspects if args.verbose else None))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"table: {args.out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for record in proxygym.list_envs():
        print(record.id)
        print(f"  proxy:            {record.proxy}")
        print(f"  true objective:   {record.true_objective}")
        print(f"  Goodhart variant: {record.goodhart_variant}")
        print(f"  knobs:            {', '.join(record.knobs) if record.knobs else '(none)'}")
        print(f"  hack dial:        {record.dial or '(none)'}")
    return 0


#: Two-sided 95 % quantiles of Student's t with 1 to 30 degrees of freedom.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(dof: int) -> float:
    """The 0.975 quantile of Student's t with ``dof`` degrees of freedom (to 3 decimals)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {dof}")
    if dof <= len(_T95):
        return _T95[dof - 1]
    z = 1.959964  # Cornish-Fisher expansion around the normal quantile
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


def mean_interval(mean: float, std: float, n: int) -> tuple[float, float]:
    """95 % t interval of a mean over ``n`` samples whose population (ddof 0) spread is ``std``."""
    if n < 2:
        return mean, mean
    half = t95(n - 1) * std * math.sqrt(n / (n - 1)) / math.sqrt(n)
    return mean - half, mean + half


def _eval(args: argparse.Namespace) -> int:
    from proxygym.agents.evaluation import agent_distribution, evaluate_policy
    from proxygym.agents.policies import detect_algo, load_agent

    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if not args.model.is_file():
        raise FileNotFoundError(f"no saved model at {args.model}")
    env_kwargs = parse_env_kwargs(args.kwargs)
    try:  # fails early, naming the id or the kwarg
        env = gym.make(args.env_id, **env_kwargs)
    except TypeError as error:
        raise ValueError(f"--kwargs {env_kwargs} not accepted by {args.env_id}: {error}") from None
    algo = (args.algo or detect_algo(args.model)).lower()
    model = load_agent(args.model, algo)
    if model.observation_space.shape != env.observation_space.shape:
        raise ValueError(
            f"{args.model} was trained on observations of shape "
            f"{model.observation_space.shape}, but {args.env_id} gives "
            f"{env.observation_space.shape}"
        )
    if model.action_space != env.action_space:
        raise ValueError(
            f"{args.model} acts in {model.action_space}, but {args.env_id} takes {env.action_space}"
        )
    env.close()
    # A sweep's default: the trained policy as it is, greedy for DQN.
    temperature = (
        args.temperature if args.temperature is not None else (0.0 if algo == "dqn" else 1.0)
    )
    result = evaluate_policy(
        agent_distribution(model),
        args.env_id,
        env_kwargs,
        episodes=args.episodes,
        seed=args.seed,
        temperature=temperature,
    )
    episodes = (
        f"{result.episodes} episodes, seeds {args.seed}..{args.seed + result.episodes - 1}"
        if result.episodes > 1
        else f"1 episode, seed {args.seed}"
    )
    print(
        f"{args.model} ({algo.upper()}) on {args.env_id}: {episodes}, temperature {temperature:g}"
    )
    for label, mean, std in (
        ("proxy return", result.proxy_return, result.proxy_return_std),
        ("true return ", result.true_return, result.true_return_std),
    ):
        if result.episodes < 2:
            print(f"{label}: {mean:.4g} (one episode: no interval)")
        else:
            low, high = mean_interval(mean, std, result.episodes)
            print(f"{label}: {mean:.4g}, 95% interval [{low:.4g}, {high:.4g}]")
    return 0


def parse_env_kwargs(items: list[str] | None) -> dict[str, Any]:
    """Environment kwargs from ``--kwargs``: one JSON object, or ``key=value`` items whose
    values are read as JSON where they parse (``3``, ``true``, ``null``) and as text otherwise."""
    if not items:
        return {}
    if len(items) == 1 and items[0].lstrip().startswith("{"):
        try:
            parsed = json.loads(items[0])
        except json.JSONDecodeError as error:
            raise ValueError(f"--kwargs {items[0]!r} is not valid JSON: {error}") from error
        if not isinstance(parsed, dict):
            raise ValueError(f"--kwargs {items[0]!r} must be a JSON object")
        return parsed
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"bad --kwargs item {item!r}: expected key=value or one JSON object")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def _play(args: argparse.Namespace) -> int:
    from proxygym.teaching.play import play_terminal

    try:
        played = play_terminal(
            args.env_id,
            args.seed,
            args.episodes,
            parse_env_kwargs(args.kwargs),
            max_steps=args.max_steps,
        )
    except KeyboardInterrupt:
        print("\nproxygym play: interrupted", file=sys.stderr)
        return 130
    finished = sum(episode.finished for episode in played)
    print(f"{finished} of {args.episodes} episodes played to the end")
    return 0


def _render(args: argparse.Namespace) -> int:
    from proxygym.teaching.animation import SUPPORTED_OUTPUTS, record_episodes, save_episodes

    if args.fps <= 0:
        raise ValueError(f"--fps must be positive, got {args.fps}")
    for option, path in (("--out", args.out), ("--sheet", args.sheet)):
        if path is not None and path.suffix.lower() not in SUPPORTED_OUTPUTS:
            raise ValueError(
                f"{option} {str(path)!r}: the extension decides the format; "
                f"use one of {', '.join(SUPPORTED_OUTPUTS)}"
            )
    recorded = record_episodes(
        args.env_id,
        args.policy,
        episodes=args.episodes,
        seed=args.seed,
        env_kwargs=parse_env_kwargs(args.kwargs),
        algo=args.algo,
    )
    frames = sum(len(episode.frames) for episode in recorded)
    save_episodes(args.out, recorded, args.fps)
    print(f"{args.out}: {frames} frames at {args.fps:g} fps")
    for number, episode in enumerate(recorded, start=1):
        print(
            f"episode {number} (seed {episode.seed}): {episode.steps} steps, "
            f"proxy return {episode.proxy_return:.4g}, true return {episode.true_return:.4g}"
        )
    if args.sheet is not None:
        save_episodes(args.sheet, recorded, args.fps)
        print(f"contact sheet: {args.sheet}")
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, ``proxygym: error: ...``, like every other error."""

    def error(self, message: str) -> NoReturn:
        hint = f"; see '{self.prog} --help'"
        self.exit(2, f"proxygym: error: {_one_line(message)}{hint}\n")


def _one_line(message: str) -> str:
    return " ".join(message.split())


class _Formatter(argparse.HelpFormatter):
    """Wraps prose to the terminal but keeps line breaks, and never breaks an example command
    (lines starting with ``example:``, ``then:`` or spaces), so it can be copied whole."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith(("example:", "then:", " ")):
                lines.append(indent + line)
            else:
                lines.append(
                    textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="proxygym",
        description="A testbed for proxy gaming (Goodhart's law) in reinforcement learning. "
        "Run 'proxygym COMMAND --help' for the options of a command.",
        epilog=(
            "example: proxygym sweep experiments/boat_race_timesteps.toml --workers 2 --progress\n"
            "         proxygym report runs/boat_race_timesteps\n"
            "         proxygym play proxygym/BoatRace-v0\n"
            "         proxygym render proxygym/BoatRace-v0 --policy proxy-optimal --out boat.gif\n"
            "         proxygym list"
        ),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {proxygym.__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the full traceback instead of one line",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sweep = commands.add_parser(
        "sweep",
        help="train agents across optimization-pressure levels and seeds",
        description=(
            "Run every (pressure level, seed) cell of a sweep config (TOML, see experiments/), "
            "plus the oracle, random and exact baselines (fewer if the config's `baselines` "
            "names fewer). Finished cells are written atomically; "
            "running the same command again resumes, skipping them."
        ),
        epilog=(
            "example: proxygym sweep experiments/boat_race_timesteps.toml --workers 2 --progress\n"
            "then:    proxygym report runs/boat_race_timesteps"
        ),
        formatter_class=_Formatter,
    )
    sweep.add_argument(
        "file", type=Path, help="sweep config, e.g. experiments/boat_race_timesteps.toml"
    )
    sweep.add_argument(
        "--out", type=Path, default=None, help="results directory (default: runs/<name>)"
    )
    sweep.add_argument(
        "--workers", type=int, default=1, help="parallel worker processes (default: 1)"
    )
    sweep.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local process pool, or Ray (the ray extra: pip install -e '.[ray]') (default: local)",
    )
    sweep.add_argument(
        "--ray-address",
        default=None,
        help="address of an existing Ray cluster, with --backend ray "
        "(default: start a local Ray instance)",
    )
    sweep.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="what trains the agents: stable-baselines3, or PPO/SAC in JAX with all seeds of a run "
        "in one compiled call (the jax extra) (default: the config's `engine`, else sb3)",
    )
    sweep.add_argument("--progress", action="store_true", help="show progress bars")
    sweep.set_defaults(run=_sweep)

    plot = commands.add_parser(
        "plot",
        formatter_class=_Formatter,
        help="write the figures of a sweep directory",
        description="Goodhart curve, proxy against true, per-seed lines and true against "
        "sqrt(KL) with the fitted overoptimization curve, as PNG and SVG. Works on an "
        "interrupted sweep with what it has.",
    )
    plot.epilog = "example: proxygym plot runs/boat_race_timesteps"
    plot.add_argument("directory", type=Path, help="a sweep's results directory")
    plot.add_argument("--out", type=Path, default=None, help="default: DIRECTORY/figures")
    plot.set_defaults(run=_plot)

    report = commands.add_parser(
        "report",
        formatter_class=_Formatter,
        help="write an HTML report and its Markdown twin for a sweep directory",
        description="Setup, what the proxy and the true objective are, completeness, metrics, "
        "per-level table, baselines, fit, figures and a one-sentence verdict.",
    )
    report.epilog = "example: proxygym report runs/boat_race_timesteps --out /tmp/report"
    report.add_argument("directory", type=Path, help="a sweep's results directory")
    report.add_argument("--out", type=Path, default=None, help="default: DIRECTORY")
    report.set_defaults(run=_report)

    detect = commands.add_parser(
        "detect",
        formatter_class=_Formatter,
        help="score a gaming detector on a sweep's agents against its oracles",
        description="Roll out every saved agent and compare its action distributions with the "
        "oracle's (trained on the true objective) on the states it visits: KL, Jensen-Shannon "
        "and Hellinger, each averaged and maxed over episodes. An agent is gaming when its true "
        "return falls short of the oracle's by more than MARGIN times the oracle's gain over "
        "the random policy. Prints each metric's AUROC, and the accuracy on the held-out seeds "
        "of a threshold chosen on the others.",
    )
    detect.epilog = "example: proxygym detect runs/absent_supervisor_width --out detect.csv"
    detect.add_argument("directory", type=Path, help="a sweep's results directory")
    detect.add_argument(
        "--episodes", type=int, default=10, metavar="N", help="rollouts per agent (default: 10)"
    )
    detect.add_argument(
        "--margin",
        type=float,
        default=0.5,
        help="share of the oracle's gain over random an agent must lose to count as gaming "
        "(default: 0.5)",
    )
    detect.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the rollouts and, with one seed, the split (default: 0)",
    )
    detect.add_argument(
        "--out", type=Path, default=None, metavar="FILE.csv", help="also write the table as CSV"
    )
    detect.add_argument("--verbose", action="store_true", help="also print every agent's scores")
    detect.set_defaults(run=_detect)
    _add_play(commands)
    _add_render(commands)
    _add_list(commands)
    _add_eval(commands)
    for command in commands.choices.values():
        # --debug is accepted after the command too; SUPPRESS keeps the global one's value.
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def _add_list(commands: Any) -> None:
    listing = commands.add_parser(
        "list",
        help="list every environment with its proxy, true objective and knobs",
        description="Every registered proxygym environment id with its proxy reward, its "
        "true objective, its Goodhart variant (regressional, extremal, causal or "
        "adversarial) and its knobs: the constructor kwargs that set how far the proxy "
        "is from the true objective (give them with --kwargs to play, render or eval).",
        epilog="example: proxygym list",
        formatter_class=_Formatter,
    )
    listing.set_defaults(run=_list)


def _add_eval(commands: Any) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="evaluate a saved model on both objectives",
        description="Play N seeded episodes of ENV_ID (reset seeds S, S+1, ...) with a saved "
        "stable-baselines3 model (a sweep's models/<cell>.zip; PPO, A2C, DQN, SAC or TD3 is "
        "detected from the file, or give --algo) and print the mean proxy and true returns, each "
        "with a 95% t interval over the episodes.",
        epilog=(
            "example: proxygym eval runs/boat_race_timesteps/models/agent-seed0.zip "
            "proxygym/BoatRace-v0 --episodes 20"
        ),
        formatter_class=_Formatter,
    )
    evaluate.add_argument("model", type=Path, metavar="MODEL", help="a saved model's .zip")
    evaluate.add_argument("env_id", metavar="ENV_ID", help="e.g. proxygym/BoatRace-v0")
    evaluate.add_argument(
        "--episodes", type=int, default=20, metavar="N", help="episodes to play (default: 20)"
    )
    evaluate.add_argument(
        "--seed", type=int, default=0, metavar="S", help="reset seed of episode 1 (default: 0)"
    )
    evaluate.add_argument(
        "--temperature",
        type=float,
        default=None,
        metavar="T",
        help="temperature of the actions (of the softmax; on continuous actions, scaling the "
        "standard deviation): 0 acts greedily (default: 1, and 0 for DQN, as sweeps evaluate)",
    )
    evaluate.add_argument(
        "--algo",
        choices=ALGORITHM_NAMES,
        default=None,
        help="algorithm of the model (default: detected from the file)",
    )
    _add_kwargs(evaluate)
    evaluate.set_defaults(run=_eval)


def _add_kwargs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kwargs",
        nargs="+",
        action="extend",
        metavar="KEY=VALUE",
        help="environment constructor kwargs: key=value items (values read as JSON where they "
        "parse, e.g. max_steps=20 supervisor=false variant=vase) or one JSON object",
    )


def _add_play(commands: Any) -> None:
    play = commands.add_parser(
        "play",
        help="play an environment from the keyboard, scored on the proxy",
        description="Play ENV_ID in the terminal like an agent would: you see the board, the "
        "key map and the proxy return; the hidden true return is revealed only when the "
        "episode ends, beside the exact proxy-optimal and true-optimal returns where the "
        "environment has a tabular model. Keys: w/a/s/d or arrow keys (gridworlds whose "
        "actions are up/down/left/right), digits 0-9 (any Discrete action space), q quits; "
        "any other key shows the key map; . repeats your last action, * holds it to the end. "
        "From a terminal every keypress counts; from a pipe each line is a string of keys. "
        "Continuous actions: a Box of one bounded number (PendulumNoTorqueCost's torque) is "
        "played on 9 evenly spaced levels, digits 0-8 from its low to its high bound (4 the "
        "middle), and you see the observation and the proxy return so far instead of a board. "
        "A Box of more numbers (HopperForward's 3 joint torques) cannot be played: watch a "
        "policy with proxygym render instead.",
        epilog=(
            "example: proxygym play proxygym/BoatRace-v0 --episodes 2\n"
            "         echo dadadada | proxygym play proxygym/BoatRace-v0 --kwargs max_steps=8\n"
            "         echo '8*' | proxygym play proxygym/PendulumNoTorqueCost-v0"
        ),
        formatter_class=_Formatter,
    )
    play.add_argument("env_id", metavar="ENV_ID", help="e.g. proxygym/BoatRace-v0")
    play.add_argument("--seed", type=int, default=0, help="reset seed of episode 1 (default: 0)")
    play.add_argument(
        "--episodes", type=int, default=1, metavar="K", help="episodes to play (default: 1)"
    )
    play.add_argument(
        "--max-steps",
        type=int,
        default=None,
        metavar="N",
        help="end each episode after N steps, e.g. a shorter classroom episode "
        "(default: the environment's own limit)",
    )
    _add_kwargs(play)
    play.set_defaults(run=_play)


def _add_render(commands: Any) -> None:
    render = commands.add_parser(
        "render",
        help="record a policy's episodes as an animated GIF",
        description="Play K episodes of ENV_ID with a policy and write them as an animated "
        "GIF (one frame after reset and one per step), with the step, the proxy return and "
        "the hidden true return drawn under every frame. POLICY is random, proxy-optimal or "
        "true-optimal (the exact optima, for environments with a tabular model), or the path "
        "of a saved stable-baselines3 model (a sweep's models/<cell>.zip; PPO, A2C or DQN is "
        "detected from the file, or give --algo). Continuous (Box) actions work the same way: "
        "random samples the Box uniformly (seeded), a saved model acts with its deterministic "
        "predict. proxygym draws the frames of its own environments and of AcrobotHeight and "
        "PendulumNoTorqueCost (the rod and the applied torque) itself, without pygame; "
        "HopperForward needs the mujoco extra and an OpenGL backend (MUJOCO_GL=egl or "
        "osmesa on a machine without a display), checked before anything is played.",
        epilog=(
            "example: proxygym render proxygym/LagoonRace-v0 --policy proxy-optimal "
            "--out lagoon.gif\n"
            "         proxygym render proxygym/BoatRace-v0 --policy "
            "runs/boat_race_timesteps/models/agent-seed0.zip --out boat.gif --sheet boat.png\n"
            "         proxygym render proxygym/PendulumNoTorqueCost-v0 --policy random "
            "--out pendulum.gif"
        ),
        formatter_class=_Formatter,
    )
    render.add_argument("env_id", metavar="ENV_ID", help="e.g. proxygym/LagoonRace-v0")
    render.add_argument(
        "--policy",
        required=True,
        metavar="random|proxy-optimal|true-optimal|PATH",
        help="who plays: a named policy or a saved model's .zip",
    )
    render.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE.gif|FILE.png",
        help="what to write: .gif an animation of every frame, .png a contact sheet",
    )
    render.add_argument("--seed", type=int, default=0, help="reset seed of episode 1 (default: 0)")
    render.add_argument(
        "--episodes", type=int, default=1, metavar="K", help="episodes to record (default: 1)"
    )
    render.add_argument(
        "--fps", type=float, default=8.0, metavar="F", help="frames per second (default: 8)"
    )
    render.add_argument(
        "--algo",
        choices=ALGORITHM_NAMES,
        default=None,
        help="algorithm of a saved model (default: detected from the file)",
    )
    render.add_argument(
        "--sheet",
        type=Path,
        default=None,
        metavar="FILE.png",
        help="also write a contact sheet of 8 evenly spaced frames, with the board's legend",
    )
    _add_kwargs(render)
    render.set_defaults(run=_render)


#: Errors that say what the user got wrong: their message alone is the error line.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    SweepError,
    FileNotFoundError,
    ValueError,
    gym.error.Error,
)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KNOWN_ERRORS as error:
        if args.debug:
            traceback.print_exc()
        print(f"proxygym: error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except Exception as error:  # anything else: still one line, unless --debug
        if args.debug:
            traceback.print_exc()
        missing = (
            _missing_extra(error, args.command) if isinstance(error, ModuleNotFoundError) else None
        )
        if missing is not None:
            print(f"proxygym: error: {missing}", file=sys.stderr)
            return 2
        message = _one_line(f"{type(error).__name__}: {error}").removesuffix(":")
        hint = "" if args.debug else " (--debug shows the traceback)"
        print(f"proxygym: error: {message}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        resumable = "; finished cells are saved, run the same command to resume"
        print(
            f"proxygym {args.command}: interrupted{resumable if args.command == 'sweep' else ''}",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
