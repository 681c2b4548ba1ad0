#!/usr/bin/env python3
"""Writes the binary seed corpora of the login and game fuzz targets (tests/fuzz/corpus/login,
tests/fuzz/corpus/game), so that they can be read and changed here rather than in hex.
Run from the repo root: python3 tests/fuzz/make_seeds.py. Inputs kept from crashes
(crash-*) are not touched."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def pack(v):
    """A minimal msgpack encoder (the seeds need nothing more)."""
    if v is None: return b'\xc0'
    if v is True: return b'\xc3'
    if v is False: return b'\xc2'
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        if -32 <= v < 0: return struct.pack('b', v)
        if 0 <= v < 2**32: return b'\xce' + struct.pack('>I', v)
        if -2**31 <= v < 0: return b'\xd2' + struct.pack('>i', v)
        return b'\xd3' + struct.pack('>q', v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32: return bytes([0xa0 | len(b)]) + b
        return b'\xd9' + bytes([len(b)]) + b
    if isinstance(v, bytes):
        return b'\xc4' + bytes([len(v)]) + v
    if isinstance(v, list):
        out = bytes([0x90 | len(v)]) if len(v) < 16 else b'\xdc' + struct.pack('>H', len(v))
        return out + b''.join(pack(x) for x in v)
    if isinstance(v, dict):
        out = bytes([0x80 | len(v)]) if len(v) < 16 else b'\xde' + struct.pack('>H', len(v))
        return out + b''.join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)


def login_seeds(d):
    os.makedirs(d, exist_ok=True)
    def w(name, sel, body):
        open(os.path.join(d, name), 'wb').write(bytes([sel]) + body)
    reg = {"Account": "ann_01", "Password": "secret", "Machine": "", "Name": "Ann", "Icon": 3, "Gender": 2, "IP": "10.0.0.7"}
    w("register_password", 0, pack(reg))
    w("register_device", 0, pack({"Account": "dev.user@x", "Password": "", "Machine": "0123456789abcdef", "Name": "", "Icon": 0, "Gender": 0, "IP": ""}))
    w("register_unicode_name", 0, pack({"Account": "li-lei", "Password": "pw", "Name": "李雷", "Gender": 1}))
    w("register_bad_gender", 0, pack({"Account": "x", "Password": "p", "Gender": 9}))
    w("register_json", 0x80, json.dumps(reg).encode())
    w("register_json_nulls", 0x80, b'{"Account":"bob","Password":null,"Machine":"m","Icon":-1,"Extra":[1,{"a":2}]}')
    w("register_empty", 0, b'')
    w("ranking", 1, pack({"Top": 20}))
    w("ranking_default_json", 0x81, b'{}')
    w("ranking_bad", 1, pack({"Top": 101}))
    w("online_game", 2, pack({"user_id": 42, "node": "game-7", "game_type": 2, "game_level": 1, "table_id": 3, "ttl_s": 90}))
    w("online_none", 2, pack({"user_id": 42, "node": "", "game_type": 0}))
    w("online_odd_node", 2, pack({"user_id": 42, "node": "game-007"}))
    user = {"user_id": 9, "account": "ann_01", "name": "Ann", "icon": 3, "gender": 2, "level": 1, "phone": "", "robot": False, "score": 1000, "diamond": 5}
    w("db_register_reply", 3, pack({"user": user, "created": True}))
    w("db_signin_days", 4, pack({"can": True, "days": 3}))
    w("db_signin", 5, pack({"total_days": 4, "score_reward": 500, "diamond_reward": 0}))
    w("db_ranking", 6, pack({"entries": [{"rank": 1, "user_id": 9, "name": "Ann", "score": 99999}, {"rank": 2, "user_id": 10, "name": "Bob", "score": 5}], "my_rank": 2}))
    w("signin_empty_json", 0x87, b'null')


def game_seeds(d):
    os.makedirs(d, exist_ok=True)
    def w(name, b): open(os.path.join(d, name), 'wb').write(bytes(b))
    START, CONFIRM, ABORT = [5], [6], [7]
    def adv(n): return [2, n]
    def move(*args): return [1, 0] + list(args)
    def raw(chair, scmd, body): return [0, chair, scmd, len(body)] + list(body)
    # gomoku, two people: a five along a row (the first mover alternates with the other's stones)
    g = [0, 1, 2, 3] + START
    for i in range(5):
        g += move(0, 8 + i, 8)      # the player on turn: (7+i, 7)
        g += move(0, 8 + i, 10)     # the other: (7+i, 9)
    w("gomoku_five", g + CONFIRM + START + move(7) + CONFIRM)
    w("gomoku_robots", [0b110, 5, 6, 7] + START + adv(255) * 4 + CONFIRM + START + adv(255) * 4)
    w("gomoku_offline_abandon", [0, 1, 2, 3] + START + move(0, 8, 8) + [3, 0] + adv(200) + [3, 1] + adv(255) * 3 + [4, 0] + CONFIRM)
    w("gomoku_raw", [0, 9, 9, 9] + START + raw(0, 1, pack({"PositionX": 7, "PositionY": 7})) + raw(1, 1, pack({"PositionX": 7, "PositionY": 7})) + raw(0, 2, b'') + raw(1, 9, b'\xc1'))
    w("gomoku_timeouts", [0, 1, 1, 1] + START + adv(180) * 6 + [4, 0, 4, 1] + ABORT + START + adv(255))
    # Dou Dizhu, three people: bids, a landlord, plays of the lowest cards
    l = [1, 42, 0, 0] + START + move(0, 4)   # chair on turn bids 3
    for i in range(12):
        l += move(4, 1, 0, 0, 14)            # play the lowest card as a single, no type
        l += move(2)                          # pass
    w("landlords_bid_play", l + adv(255) * 3 + CONFIRM)
    w("landlords_redeal", [1, 7, 1, 0] + START + move(0, 0) + move(0, 0) + move(0, 0) + move(0, 0) + move(0, 0) + move(0, 0) + move(0, 2) + move(0, 3) + move(0, 4))
    w("landlords_robots", [1 | 0b1100, 3, 2, 1] + START + move(0, 3) + adv(255) * 6 + CONFIRM + START + adv(255) * 6)
    w("landlords_all_robots_capped", [1 | 0b1110 | (1 << 5), 11, 12, 13] + START + adv(255) * 15 + CONFIRM)
    w("landlords_trustee_offline", [1, 5, 5, 5] + START + move(3, 1) + adv(180) + [3, 1] + adv(255) * 2 + [4, 1] + move(3, 0) + adv(255) * 8 + CONFIRM)
    w("landlords_raw", [1, 1, 2, 3] + START + raw(0, 1, pack({"Score": 2})) + raw(1, 2, pack({"Cards": [0, 1, 2], "Type": "trio"})) + raw(2, 3, b'') + raw(0, 4, pack({"On": True})) + raw(1, 2, pack({"Cards": [53, 53]})))
    w("landlords_bomb_types", [1, 99, 0, 0] + START + move(0, 4) + move(4, 0x0f, 0, 0, 12) + move(4, 0xff, 0xff, 0x0f, 13) + move(4, 0x81, 0, 0, 200, 15))


if __name__ == "__main__":
    login_seeds(os.path.join(HERE, "corpus", "login"))
    game_seeds(os.path.join(HERE, "corpus", "game"))
