class JitterBuffer:
    rate: int
    channels: int
    frame: int
    floor_s: float
    max_s: float
    hold_s: float
    playing: bool
    level_s: float
    target_s: float
    quantum_s: float
    settled_slack_s: float | None
    tiling_s: float
    start_delay_s: float
    delay_s: float
    def __init__(self, rate: int, channels: int, frame: int, *, floor_s: float = ...,
                 max_s: float = ..., hold_s: float = ...) -> None: ...
    def push(self, timestamp: int, pcm: object, arrival: float) -> None: ...
    def pop(self, now: float, span: int = 0) -> bytes | None: ...
    def new_source(self) -> None: ...
    def counts(self) -> tuple[int, int, int, int, int, int, int, int]: ...
    def core(self) -> object: ...
