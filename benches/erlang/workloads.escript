#!/usr/bin/env escript
%%! +S 2:2
-mode(compile).
%% The workloads of benches/workloads.rs in Erlang/OTP, for benches/compare: the same shapes, two schedulers.
%% Usage: workloads.escript pingpong [Trips] | ring [Procs] [Laps] | fanout [Workers] | idle [Procs]
%% Prints one line in the same format as the Rust bench.

main(["pingpong" | Rest]) ->
    Trips = arg(Rest, 1, 20000),
    Ponger = spawn(fun pong/0),
    ping(Ponger, 100),
    T0 = now_ns(),
    ping(Ponger, Trips),
    Us = (now_ns() - T0) / 1000 / Trips,
    io:format("pingpong trips=~p us_per_trip=~.2f~n", [Trips, Us]);
main(["ring" | Rest]) ->
    Procs = arg(Rest, 1, 10000),
    Laps = arg(Rest, 2, 10),
    Me = self(),
    T0 = now_ns(),
    Nodes = [spawn(fun ring_node/0) || _ <- lists:seq(1, Procs - 1)],
    wire(Nodes, Me),
    Setup = now_ns() - T0,
    [First | _] = Nodes,
    LapNs = [lap(First, L) || L <- lists:seq(1, Laps)],
    First ! {t, -1},
    receive {t, _} -> ok end,
    PerMsg = [Ns / Procs || Ns <- LapNs],
    [Lap1 | Later] = PerMsg,
    LaterAvg = case Later of [] -> 0.0; _ -> lists:sum(Later) / length(Later) end,
    All = lists:sum(PerMsg) / length(PerMsg),
    io:format("ring procs=~p laps=~p setup_us_per_proc=~.2f ns_per_msg=~.1f lap1_ns_per_msg=~.1f later_ns_per_msg=~.1f~n",
              [Procs, Laps, Setup / 1000 / Procs, All, Lap1, LaterAvg]);
main(["fanout" | Rest]) ->
    Workers = arg(Rest, 1, 20000),
    T0 = now_ns(),
    [spawn_monitor(fun() -> ok end) || _ <- lists:seq(1, Workers)],
    collect(Workers),
    Us = (now_ns() - T0) / 1000 / Workers,
    io:format("fanout workers=~p us_per_worker=~.2f~n", [Workers, Us]);
main(["idle" | Rest]) ->
    Procs = arg(Rest, 1, 100000),
    Before = status_kib("VmRSS:"),
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, Procs)],
    timer:sleep(200),
    Steady = status_kib("VmRSS:") - Before,
    [exit(P, kill) || P <- Pids],
    Peak = status_kib("VmHWM:") - Before,
    io:format("idle procs=~p steady_bytes_per_proc=~.1f peak_bytes_per_proc=~.1f~n",
              [Procs, Steady * 1024 / Procs, Peak * 1024 / Procs]);
main(_) ->
    io:format("usage: workloads.escript pingpong|ring|fanout|idle [n] [laps]~n"),
    halt(2).

arg(Args, I, _Default) when length(Args) >= I -> list_to_integer(lists:nth(I, Args));
arg(_, _, Default) -> Default.

now_ns() -> erlang:monotonic_time(nanosecond).

pong() -> receive {ping, From, I} -> From ! {pong, I}, pong() end.
ping(_, 0) -> ok;
ping(Ponger, N) -> Ponger ! {ping, self(), N}, receive {pong, N} -> ping(Ponger, N - 1) end.

ring_node() -> receive {next, Next} -> ring_loop(Next) end.
ring_loop(Next) ->
    receive
        {t, N} when N < 0 -> Next ! {t, N};
        {t, N} -> Next ! {t, N}, ring_loop(Next)
    end.
wire([Last], Me) -> Last ! {next, Me};
wire([A, B | Rest], Me) -> A ! {next, B}, wire([B | Rest], Me).
lap(First, L) ->
    T0 = now_ns(),
    First ! {t, L},
    receive {t, _} -> ok end,
    now_ns() - T0.

collect(0) -> ok;
collect(N) -> receive {'DOWN', _, process, _, _} -> collect(N - 1) end.

status_kib(Field) ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    Lines = string:split(binary_to_list(Bin), "\n", all),
    [V] = [string:trim(string:trim(lists:nthtail(length(Field), L)), trailing, " kB") || L <- Lines, lists:prefix(Field, L)],
    list_to_integer(string:trim(V)).
