"""Payload formats jcall offers and answers, by RTP/AVP name (RFC 3551 section 6).

Negotiation (gingle.md A.7): the answer is the offered formats jcall supports, in the
offerer's order; nothing in common means ``reject`` with ``incompatible-parameters``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..signaling.model import PayloadType


@dataclass(frozen=True)
class Format:
    """An audio format jcall sends and receives, as an RTP payload type names it."""

    name: str
    clockrate: int
    channels: int = 1
    static_pt: int | None = None

    def matches(self, pt: PayloadType) -> bool:
        if pt.name:
            return (pt.name.upper() == self.name and (pt.clockrate or self.clockrate)
                    == self.clockrate and channels_of(pt) == self.channels)
        # A nameless payload type is identified by its static number (RFC 3551 table 4).
        return self.static_pt is not None and pt.id == self.static_pt


# RFC 3551 table 4 fixes the channels of the static L16 types: 10 is stereo, 11 mono.
# libpurple offers <payload-type id="10" name="L16" clockrate="44100"/> with no channels
# and farstream sends stereo on it (gingle.md part G).
STATIC_L16_CHANNELS = {10: 2, 11: 1}


def channels_of(pt: PayloadType) -> int:
    """The channels a payload type carries: the static number decides for L16 10/11,
    the ``channels`` attribute everywhere else."""
    if pt.id in STATIC_L16_CHANNELS and pt.name.upper() in ("", "L16"):
        return STATIC_L16_CHANNELS[pt.id]
    return pt.channels


L16_44100 = Format("L16", 44100, 1, 11)
L16_44100_STEREO = Format("L16", 44100, 2, 10)
L16_48000 = Format("L16", 48000)
L16_16000 = Format("L16", 16000)
L16_8000 = Format("L16", 8000)
PCMU = Format("PCMU", 8000, 1, 0)
PCMA = Format("PCMA", 8000, 1, 8)

SUPPORTED = (L16_44100, L16_48000, L16_16000, L16_8000, L16_44100_STEREO, PCMU, PCMA)
DYNAMIC_PT_START = 96


def offer(formats: tuple[Format, ...] = SUPPORTED) -> tuple[PayloadType, ...]:
    """Payload types for an initiate: static numbers where RFC 3551 has them, 96+ else."""
    out: list[PayloadType] = []
    dynamic = DYNAMIC_PT_START
    for f in formats:
        if f.static_pt is not None:
            pt_id = f.static_pt
        else:
            pt_id, dynamic = dynamic, dynamic + 1
        out.append(PayloadType(id=pt_id, name=f.name, clockrate=f.clockrate, channels=f.channels))
    return tuple(out)


def answer(offered: tuple[PayloadType, ...],
           formats: tuple[Format, ...] = SUPPORTED) -> tuple[PayloadType, ...]:
    """The offered payload types jcall supports, in the offerer's order."""
    return tuple(pt for pt in offered if any(f.matches(pt) for f in formats))


def prefer(spec: str | None, formats: tuple[Format, ...] = SUPPORTED) -> tuple[Format, ...]:
    """``formats`` with those matching ``NAME[/RATE[/CHANNELS]]`` (e.g. ``PCMU``,
    ``L16/16000``, ``L16/44100/2``: the form the statistics print) first.

    Raises ValueError when nothing matches, naming what would.
    """
    if not spec:
        return formats
    name, *numbers = spec.split("/")
    try:
        if len(numbers) > 2:
            raise ValueError
        wanted_rate, wanted_channels = (int(n) for n in (*numbers, "0", "0")[:2])
    except ValueError:
        raise ValueError(f"invalid codec {spec!r}: expected NAME[/RATE[/CHANNELS]]") from None
    first = tuple(f for f in formats if f.name == name.upper()
                  and wanted_rate in (0, f.clockrate)
                  and wanted_channels in (0, f.channels))
    if not first:
        known = ", ".join(sorted({f"{f.name}/{f.clockrate}" for f in formats}))
        raise ValueError(f"unknown codec {spec!r} (known: {known})")
    return first + tuple(f for f in formats if f not in first)


def at_rate(rate: int | None, formats: tuple[Format, ...] = SUPPORTED) -> tuple[Format, ...]:
    """``formats`` with linear PCM at ``rate`` (mono) first: the sound devices' own
    rate, so that neither end resamples (which costs the device's callback time and
    adds the resampler's delay). Unchanged when no format runs at ``rate``."""
    first = tuple(f for f in formats if f.name == "L16" and f.clockrate == rate
                  and f.channels == 1)
    return first + tuple(f for f in formats if f not in first)
