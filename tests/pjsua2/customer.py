#!/usr/bin/env python3
"""A customer on pjsua2 (pjproject's SIP stack, from PyPI's pjsua2-python) for callrec's tests.

It plays a WAV file into the call as its microphone, records what it hears to a WAV file,
and either answers one call (--answer) or places one (--call URI). It prints one line per
event on stdout, flushed at once:

    ready port=5070
    early                       (media before the answer, --early)
    confirmed codec=PCMA
    digit 4
    held | resumed
    rtcp reports=2 rtt_us=350    (--rtcp-at)
    disconnected status=200 reason=Normal call clearing

and exits 0 once the call is over, 1 when nothing happened before --timeout.
"""

import argparse
import os
import sys
import time

import pjsua2 as pj


def say(line):
    print(line, flush=True)


def offset(text):
    """MS=VALUE -> (seconds, value)."""
    ms, _, value = text.partition("=")
    return int(ms) / 1000.0, value


class Call(pj.Call):
    def __init__(self, app, account, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(account, call_id)
        self.app = app
        self.media_up = False
        self.held = False

    def onCallState(self, prm):
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.app.confirmed is None:
            self.app.confirmed = time.monotonic()
            codec = ""
            for i, media in enumerate(info.media):
                if media.type == pj.PJMEDIA_TYPE_AUDIO:
                    codec = self.getStreamInfo(i).codecName
            say(f"confirmed codec={codec}")
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            say(f"disconnected status={info.lastStatusCode} reason={info.lastReason}")
            self.app.done = True

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            if media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = self.getAudioMedia(i)
                self.app.audio = audio
                if self.app.answer_at is not None and not self.app.said_early:
                    self.app.said_early = True
                    say("early")
                if self.app.answer_at is not None and self.app.early_player is not None:
                    self.app.early_player.startTransmit(audio)
                else:
                    self.app.player.startTransmit(audio)
                audio.startTransmit(self.app.recorder)
                if self.held:
                    say("resumed")
                self.held = False
            elif media.status in (pj.PJSUA_CALL_MEDIA_REMOTE_HOLD, pj.PJSUA_CALL_MEDIA_LOCAL_HOLD):
                if not self.held:
                    say("held")
                self.held = True

    def onDtmfDigit(self, prm):
        say(f"digit {prm.digit}")


class Account(pj.Account):
    def __init__(self, app):
        super().__init__()
        self.app = app

    def onIncomingCall(self, prm):
        call = Call(self.app, self, prm.callId)
        self.app.calls.append(call)
        if self.app.args.answer:
            op = pj.CallOpParam()
            if self.app.args.early:
                # 183 Session Progress with SDP: its WAV plays before the answer.
                op.statusCode = 183
                self.app.answer_at = time.monotonic() + self.app.args.early / 1000.0
            else:
                op.statusCode = 200
            call.answer(op)
        else:
            op = pj.CallOpParam()
            op.statusCode = 486
            call.answer(op)


class App:
    def __init__(self, args):
        self.args = args
        self.calls = []
        self.confirmed = None
        self.answer_at = None
        self.said_early = False
        self.early_player = None
        self.early_stopped = False
        self.audio = None
        self.done = False
        self.player = None
        self.recorder = None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="SIP port on 127.0.0.1")
    parser.add_argument("--rtp-port", type=int, required=True, help="first RTP port to try")
    parser.add_argument("--play", required=True, help="16-bit WAV played into the call, looped")
    parser.add_argument("--record", required=True, help="WAV file of what the customer heard")
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--answer", action="store_true", help="answer one call at once")
    role.add_argument("--call", metavar="URI", help="place one call")
    parser.add_argument("--early", type=int, metavar="MS",
                        help="(--answer) send early media (183 with SDP) for MS, then answer")
    parser.add_argument("--early-play", metavar="WAV",
                        help="(--early) what it plays before the answer (else --play); it "
                             "stops 200 ms before the answer, as a ringback's cadence would")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                        help="a header on the INVITE (--call)")
    parser.add_argument("--codec", action="append", default=[],
                        help="offered codecs, best first (default PCMU then PCMA)")
    parser.add_argument("--dtmf", action="append", default=[], metavar="MS=DIGITS",
                        help="send DIGITS (RFC 4733) MS after the call is up")
    parser.add_argument("--hold", action="append", default=[], metavar="FROM-TO",
                        help="hold the call from FROM ms to TO ms after it is up")
    parser.add_argument("--rtcp-at", type=int, metavar="MS",
                        help="say what RTCP told it MS after the call is up: 'rtcp reports=N "
                             "rtt_us=R' (N: the peer's reports on its stream; R: their round trip)")
    parser.add_argument("--hangup-at", type=int, metavar="MS",
                        help="hang up MS after the call is up (else wait for the far end)")
    parser.add_argument("--vad", action="store_true",
                        help="silence detection: silence is not sent (comfort noise instead)")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up after S seconds")
    parser.add_argument("--log", help="pjsip's log file")
    args = parser.parse_args()
    app = App(args)

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.consoleLevel = 0
    cfg.logConfig.level = 5 if args.log else 0
    if args.log:
        cfg.logConfig.filename = args.log
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.ecTailLen = 0
    cfg.medConfig.noVad = not args.vad
    ep.libInit(cfg)
    transport = pj.TransportConfig()
    transport.port = args.port
    transport.boundAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    ep.libStart()
    ep.audDevManager().setNullDev()
    offered = args.codec or ["PCMU", "PCMA"]
    for codec in ep.codecEnum2():
        name = codec.codecId.split("/")[0]
        priority = 255 - offered.index(name) if name in offered else 0
        ep.codecSetPriority(codec.codecId, priority)

    app.player = pj.AudioMediaPlayer()
    app.player.createPlayer(args.play)
    if args.early_play:
        app.early_player = pj.AudioMediaPlayer()
        app.early_player.createPlayer(args.early_play)
    app.recorder = pj.AudioMediaRecorder()
    app.recorder.createRecorder(args.record)

    acc_cfg = pj.AccountConfig()
    acc_cfg.idUri = f"sip:customer@127.0.0.1:{args.port}"
    acc_cfg.mediaConfig.transportConfig.port = args.rtp_port
    acc_cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    account = Account(app)
    account.create(acc_cfg)
    say(f"ready port={args.port}")

    if args.call:
        call = Call(app, account)
        app.calls.append(call)
        op = pj.CallOpParam(True)
        for header in args.header:
            name, _, value = header.partition(":")
            h = pj.SipHeader()
            h.hName = name.strip()
            h.hValue = value.strip()
            op.txOption.headers.append(h)
        call.makeCall(args.call, op)

    dtmf = sorted(offset(d) for d in args.dtmf)
    holds = []
    for window in args.hold:
        start, _, end = window.partition("-")
        holds += [(int(start) / 1000.0, "hold"), (int(end) / 1000.0, "unhold")]
    actions = sorted(dtmf + holds)
    if args.rtcp_at is not None:
        actions.append((args.rtcp_at / 1000.0, "rtcp"))
    if args.hangup_at is not None:
        actions.append((args.hangup_at / 1000.0, "hangup"))
    # In time order: the loop only looks at the first.
    actions.sort()
    deadline = time.monotonic() + args.timeout
    while not app.done and time.monotonic() < deadline:
        ep.libHandleEvents(10)
        if (app.early_player is not None and app.audio is not None and not app.early_stopped
                and app.answer_at is not None and time.monotonic() >= app.answer_at - 0.2):
            app.early_stopped = True
            app.early_player.stopTransmit(app.audio)
        if app.answer_at is not None and time.monotonic() >= app.answer_at:
            app.answer_at = None
            if app.early_player is not None and app.audio is not None:
                app.player.startTransmit(app.audio)
            op = pj.CallOpParam()
            op.statusCode = 200
            app.calls[0].answer(op)
        if app.confirmed is None or not actions:
            continue
        at, action = actions[0]
        if time.monotonic() - app.confirmed < at:
            continue
        actions.pop(0)
        call = app.calls[0]
        if action == "hangup":
            call.hangup(pj.CallOpParam())
        elif action == "rtcp":
            rtcp = call.getStreamStat(0).rtcp
            say(f"rtcp reports={rtcp.txStat.updateCount} rtt_us={rtcp.rttUsec.last}")
        elif action == "hold":
            call.setHold(pj.CallOpParam(True))
        elif action == "unhold":
            op = pj.CallOpParam(True)
            op.opt.flag = pj.PJSUA_CALL_UNHOLD
            call.reinvite(op)
        else:
            call.dialDtmf(action)

    ok = app.done
    if not ok:
        say("timeout")
        ep.hangupAllCalls()
        for _ in range(50):
            ep.libHandleEvents(10)
    # The recorder completes its WAV header when it is destroyed, before the library is.
    app.recorder = None
    app.player = None
    app.early_player = None
    ep.libDestroy()
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # pjsua2's Python objects of an ended call assert when collected after the library is
    # gone: leave without collecting them.
    os._exit(code)
