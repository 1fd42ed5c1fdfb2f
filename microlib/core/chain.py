"""One ordered interceptor list shared by HTTP, gRPC, messaging and jobs.

As in Starlette's middleware list, the first interceptor runs outermost. The
chain is composed once per method when it is registered. Neighbouring
:class:`Stage` interceptors (the framework's own: request id, recovery,
tracing, metrics, logging, deadline, validation) are fused into one step
that runs their synchronous halves in order around a single await, so a call
pays one coroutine for all of them; any other interceptor (the user's,
authentication) wraps the rest as a coroutine of its own, exactly where it
was configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextvars import Token
from typing import Any, ClassVar, Protocol, runtime_checkable

from microlib.core.context import CallContext, Rejected, _current

__all__ = ["SLOTS", "CallNext", "Chain", "Interceptor", "Stage", "compose"]

CallNext = Callable[[CallContext], Awaitable[Any]]
"""Calls the rest of the chain (and finally the handler) with a context."""


@runtime_checkable
class Interceptor(Protocol):
    """Something that runs around every call.

    A streaming response is pushed through ``ctx.send`` inside the call, so
    ``call_next`` returns only once the whole stream is written: an
    interceptor that times or counts calls covers streams unchanged.
    """

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Handle ``ctx``, usually by awaiting ``call_next(ctx)``."""
        ...


class Stage:
    """An interceptor whose work is a synchronous half before the call and one after.

    Running a stage means, and is exactly equivalent to::

        state = stage.enter(ctx)
        try:
            result = await call_next(ctx)
        except BaseException as exc:
            raise stage.exit(ctx, state, exc) or exc
        stage.exit(ctx, state, None)
        return result

    (the replacement's ``__cause__`` as ``exit`` set it). Written this way,
    the chain fuses neighbouring stages into one step with a single await:
    entered outermost first, exited innermost first, each exit seeing what
    the inner ones left (the handler's exception, or a replacement). The
    framework's interceptors are stages; a subclass does its work in
    :meth:`enter` and :meth:`exit` (the chain never calls its
    :meth:`intercept`, which runs it alone, outside a chain).
    """

    # Promises that let a fused step skip a call to :meth:`exit` that would do nothing:
    # it does nothing when :meth:`enter` returned None, does nothing after a success, or
    # does nothing after a success when :meth:`enter` returned None.
    exit_needs_state: ClassVar[bool] = False
    exit_needs_failure: ClassVar[bool] = False
    exit_needs_state_or_failure: ClassVar[bool] = False
    # A promise that lets a fused step skip a call to :meth:`enter` that would do nothing:
    # the name of a CallContext field while which is None enter does nothing and returns None.
    enter_needs: ClassVar[str] = ""

    def enter(self, ctx: CallContext) -> Any:
        """Work before the call; returns the state :meth:`exit` gets back.

        Raising here fails the call, as raising before ``call_next`` would;
        the stage is then not exited.
        """
        return None

    def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> BaseException | None:
        """Work after the call, with what it raised (None on success).

        Returns:
            An exception to raise in place of ``failure`` (its ``__cause__``
            set as the stage means it), or None to let the outcome stand.
        """
        return None

    def for_kind(self, kind: str) -> Stage | None:
        """The stage to run for calls of ``kind``, or None when it does nothing for them.

        The chain asks once per method and kind, when it composes the
        chain: a stage that only counts gRPC, messages and jobs leaves HTTP
        calls without a step of its own. The stage returned must behave
        exactly as this one would for calls of that kind.
        """
        return self

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Run the stage alone around ``call_next``."""
        return await _fuse((self,), call_next)(ctx)


def compose(interceptors: Sequence[Interceptor], handler: CallNext, kind: str | None = None) -> CallNext:
    """Wrap ``handler`` in ``interceptors``, the first one outermost.

    The returned callable binds the context to the current task, so
    ``current_context()`` works in the handler and everything it calls. A
    request the transport could not decode (:class:`Rejected`) raises its
    error in place of the handler, once every interceptor (authn and authz
    first) has had its say. Runs of neighbouring :class:`Stage` interceptors
    become one step each (see :class:`Stage`); the binding and the rejection
    are stages too, so a chain of framework interceptors only is one step
    around the handler. With ``kind``, the chain serves calls of that kind
    only, and each stage is asked for its step for them (:meth:`Stage.for_kind`).
    """
    layers: list[Interceptor | list[Stage]] = [[_BINDING]]
    for interceptor in interceptors:
        if isinstance(interceptor, Stage):
            if kind is not None:
                specialized = interceptor.for_kind(kind)
                if specialized is None:
                    continue
                interceptor = specialized
            run = layers[-1]
            if isinstance(run, list):
                run.append(interceptor)
            else:
                layers.append([interceptor])
        else:
            layers.append(interceptor)
    last = layers[-1]
    if isinstance(last, list):
        last.append(_ACCEPTING)
    else:
        layers.append([_ACCEPTING])
    call = handler
    for layer in reversed(layers):
        call = _fuse(tuple(layer), call) if isinstance(layer, list) else _link(layer, call)
    return call


def _fuse(stages: tuple[Stage, ...], call_next: CallNext) -> CallNext:
    """One coroutine running ``stages`` around ``call_next``, as nested interceptors would.

    Its body is written for this run of stages when the chain is composed,
    as ``dataclasses`` writes ``__init__``: each half is a call on a local
    name, in order, with no loop, list of states or lookup per call; a
    stage that keeps Stage's own ``enter`` or ``exit`` (which do nothing)
    costs nothing on that side, nor an enter while the field its stage names
    is None (:attr:`Stage.enter_needs`), nor an exit in the cases its stage promises
    it does nothing (:attr:`Stage.exit_needs_state`, :attr:`Stage.exit_needs_failure`,
    :attr:`Stage.exit_needs_state_or_failure`).
    What it does is exactly the loop::

        states = []
        try:
            for stage in stages:
                states.append(stage.enter(ctx))
            result = await call_next(ctx)
        except BaseException as exc:
            failure = exc
        for stage, state in reversed(list(zip(stages, states))):  # the entered ones
            try:
                replacement = stage.exit(ctx, state, failure)
            except BaseException as exc:
                replacement = exc
            if replacement is not None:
                failure = replacement
        if failure is not None:
            raise failure
        return result
    """
    noop_enter = [getattr(stage.enter, "__func__", None) is Stage.enter for stage in stages]
    noop_exit = [getattr(stage.exit, "__func__", None) is Stage.exit for stage in stages]
    # The chain's own stages are written in as statements: a call less at each end.
    scope: dict[str, Any] = {"call_next": call_next, "bind": _current.set, "unbind": _current.reset}
    scope["Rejected"] = Rejected
    # ``entered`` counts the stages entered, for the exits after an enter
    # raised; a stage without an enter is entered along with the one before.
    entering = [index for index, noop in enumerate(noop_enter) if not noop]
    enters = []
    for index in entering:
        following = next((i for i in entering if i > index), len(stages))
        if stages[index] is _BINDING:
            enters.append(f"s{index} = bind(ctx)")
        elif stages[index] is _ACCEPTING:
            enters += ["if type(ctx.request) is Rejected:", "    raise ctx.request.error"]
        else:
            scope[f"enter{index}"] = stages[index].enter
            field = stages[index].enter_needs
            if field:
                # The call the stage promises would do nothing is not made.
                enters.append(f"s{index} = enter{index}(ctx) if ctx.{field} is not None else None")
            else:
                enters.append(f"s{index} = enter{index}(ctx)")
        enters.append(f"entered = {following}")
    every: list[str] = []  # the exits when every stage was entered (the usual case)
    some: list[str] = []  # the exits of the stages entered before one raised
    for index in reversed(range(len(stages))):
        if noop_exit[index]:
            continue
        if stages[index] is _BINDING:
            # _Binding.exit returns None: only what it raises replaces the outcome.
            lines = ["try:", f"    unbind(s{index})", "except BaseException as exc:", "    failure = exc"]
        else:
            stage = stages[index]
            scope[f"exit{index}"] = stage.exit
            state = "None" if noop_enter[index] else f"s{index}"
            lines = [
                "try:",
                f"    replacement = exit{index}(ctx, {state}, failure)",
                "except BaseException as exc:",
                "    replacement = exc",
                "if replacement is not None:",
                "    failure = replacement",
            ]
            # The calls the stage promises would do nothing are not made.
            needs = []
            if stage.exit_needs_state:
                needs.append(f"{state} is not None")
            if stage.exit_needs_failure:
                needs.append("failure is not None")
            if stage.exit_needs_state_or_failure:
                needs.append(f"({state} is not None or failure is not None)")
            if needs:
                lines = [f"if {' and '.join(needs)}:", *(f"    {line}" for line in lines)]
        every += lines
        some += [f"if entered > {index}:", *(f"    {line}" for line in lines)]
    body = [
        "failure = None",
        "result = None",
        f"entered = {entering[0] if entering else len(stages)}",
        "try:",
        *(f"    {line}" for line in enters),
        "    result = await call_next(ctx)",
        "except BaseException as exc:",
        "    failure = exc",
        *(
            [f"if entered == {len(stages)}:", *(f"    {line}" for line in every), "else:"]
            + [f"    {line}" for line in some]
            if every
            else []
        ),
        "if failure is not None:",
        "    raise failure",
        "return result",
    ]
    names = ", ".join(type(stage).__name__ for stage in stages)
    source = "async def step(ctx):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(source, f"<fused stages: {names}>", "exec"), scope)
    step: CallNext = scope["step"]
    return step


class _Binding(Stage):
    """``current_context()`` answers ``ctx`` for the whole call."""

    # The variable itself, not a helper around it: a call less at each end of every call.
    def enter(self, ctx: CallContext) -> Token[CallContext | None]:
        return _current.set(ctx)

    def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> None:
        _current.reset(state)


class _Accepting(Stage):
    """A request the transport could not decode raises its error right before the handler."""

    def enter(self, ctx: CallContext) -> None:
        request = ctx.request
        if type(request) is Rejected:
            raise request.error


_BINDING = _Binding()
_ACCEPTING = _Accepting()


def _link(interceptor: Interceptor, call_next: CallNext) -> CallNext:
    intercept = interceptor.intercept
    # A plain function handing back the interceptor's coroutine: an async
    # wrapper would add a coroutine and an await per interceptor per call.
    return lambda ctx: intercept(ctx, call_next)


SLOTS = (
    "request_id",
    "recovery",
    "tracing",
    "metrics",
    "logging",
    "user",
    "authn",
    "authz",
    "deadline",
    "validation",
)
"""The chain's slots, outermost first: errors are caught around everything,
and validation runs last, right before the handler."""


class Chain:
    """The service's interceptors, kept in named slots in a fixed order.

    Framework features install into their slot (observability into
    ``tracing``, security into ``authn``...); the user's own interceptors
    fill the ``user`` slot, in the order given. Transports call
    :meth:`wrap` once per method when they register it.

    Args:
        user: The user's interceptors, outermost first.
        disabled: Slots to leave empty whatever is installed into them.
    """

    def __init__(self, user: Sequence[Interceptor] = (), *, disabled: Sequence[str] = ()) -> None:
        unknown = sorted(set(disabled) - set(SLOTS))
        if unknown:
            raise ValueError(f"unknown chain slot(s) {unknown}; the slots are {list(SLOTS)}")
        self._slots: dict[str, list[Interceptor]] = {slot: [] for slot in SLOTS}
        self._slots["user"].extend(user)
        self._disabled = frozenset(disabled)
        self._frozen = False

    def install(self, slot: str, interceptor: Interceptor) -> None:
        """Append ``interceptor`` to ``slot``.

        Raises:
            ValueError: if ``slot`` is not one of :data:`SLOTS`.
            RuntimeError: once the chain has served a call.
        """
        interceptors = self._slot(slot)
        if self._frozen:
            raise RuntimeError("the chain has already served a call; install interceptors before starting")
        interceptors.append(interceptor)

    def installed(self, slot: str) -> bool:
        """Whether ``slot`` holds an interceptor and is not disabled.

        Raises:
            ValueError: if ``slot`` is not one of :data:`SLOTS`.
        """
        return bool(self._slot(slot)) and slot not in self._disabled

    def _slot(self, slot: str) -> list[Interceptor]:
        found = self._slots.get(slot)
        if found is None:
            raise ValueError(f"unknown chain slot {slot!r}; the slots are {list(SLOTS)}")
        return found

    @property
    def interceptors(self) -> list[Interceptor]:
        """Every active interceptor, outermost first."""
        return [i for slot in SLOTS if slot not in self._disabled for i in self._slots[slot]]

    def wrap(self, handler: CallNext) -> CallNext:
        """Compose the active interceptors around ``handler``.

        Routes are declared before the service installs its interceptors,
        so the composition happens on the first call (of each call kind:
        see :meth:`Stage.for_kind`); from then on the chain is frozen and
        :meth:`install` refuses.
        """
        composed: dict[str, CallNext] = {}

        def call(ctx: CallContext) -> Awaitable[Any]:
            step = composed.get(ctx.kind)
            if step is None:
                self._frozen = True
                step = composed[ctx.kind] = compose(self.interceptors, handler, ctx.kind)
            return step(ctx)

        return call
