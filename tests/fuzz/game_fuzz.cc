// Fuzzes the game node's table messages by playing them into the real table logics (gomoku and
// Dou Dizhu) through the unit tests' fake frame (tests/support/fake_table.h), so that a fuzzed
// sequence reaches deep into a round instead of stopping at the decoder. The harness keeps the
// frame's own rules (no table message while a round is settling, none from robots or offline
// players, conclude is confirmed before the next round starts, timers die at conclude).
//
// Input: byte 0 picks the kind (bit 0) and the robots (bits 1-3), bytes 1-2 the deal's seed and
// first player, then a list of operations, one byte of opcode each followed by its arguments:
// a raw (150,x) message with fuzzed body bytes, a well-formed move (stone, bid, play of cards
// picked from the hand by a bit mask, pass, trustee, resign), the clock moving on (timers fire:
// robots, trustee, timeouts), a player going offline or coming back, round start, settlement
// confirmed, abort, a seat changing hands.
//
// Invariants, after every operation:
// - nothing crashes, and every message the logic sends decodes as its type's struct;
// - a refused message changes nothing: no state, no message, no timer;
// - conclude() comes once per round, only from a running round, with sane transfers;
// - Dou Dizhu: the hands, the bottom (until it is taken) and the cards played are the 54 cards
//   exactly once; hands are sorted and never exceed 17 (20 for the landlord); the multiple stays
//   in 1..max_multiple; the settlement unit is base x bid x multiple; the winner's hand is empty;
// - gomoku: the board holds exactly the stones broadcast since the start, where they were put.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codec/messages.h"
#include "nodes/game/gomoku/gomoku_logic.h"
#include "nodes/game/landlords/landlords_logic.h"
#include "tests/support/fake_table.h"

namespace codec = tb::codec;
namespace game = tb::game;
namespace gm = tb::game::gomoku;
namespace ll = tb::game::landlords;
using std::chrono::milliseconds;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "game_fuzz: invariant broken: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

// Reads the input front to back; past its end every byte is zero.
class Bytes {
public:
    Bytes(const uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
    bool done() const noexcept { return p_ == end_; }
    uint8_t next() noexcept { return p_ == end_ ? 0 : *p_++; }
    std::string_view take(std::size_t n) noexcept {
        n = std::min<std::size_t>(n, static_cast<std::size_t>(end_ - p_));
        const std::string_view s(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return s;
    }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

// Timer ids the logics use are small; the frame kills them all at conclude and abort.
constexpr int kMaxTimerId = 16;

// FakeTable plus what the real frame does around conclude().
class Frame final : public tb::test::FakeTable {
public:
    using FakeTable::FakeTable;

    bool settling = false;  // conclude() came, settlement not yet confirmed

    void conclude(game::RoundOutcome outcome) override {
        check(logic != nullptr && !logic->playing(), "conclude() while still playing");
        check(!settling, "conclude() twice in one round");
        for (const auto& t : outcome.transfers) {
            check(t.from != t.to && t.amount > 0, "a transfer to oneself or of nothing");
            check(seat(t.from) != nullptr && seat(t.to) != nullptr, "a transfer off the table");
        }
        settling = true;
        kill_all();
        FakeTable::conclude(std::move(outcome));
    }
    void kill_all() {
        for (int id = 0; id < kMaxTimerId; ++id) kill_timer(id);
    }
    std::vector<int64_t> timer_state() const {
        std::vector<int64_t> out;
        for (int id = 0; id < kMaxTimerId; ++id) {
            out.push_back(timer_running(id) ? timer_left(id).count() : -1);
        }
        return out;
    }
};

// Every message a logic sends must decode as the struct of its type.
template <class Msg>
bool decodes(const std::string& body) {
    Msg m;
    return codec::decode(body, m) == codec::MsgError::kOk;
}

// The per-kind parts of the harness.
class Kind {
public:
    virtual ~Kind() = default;
    virtual game::TableLogic& logic() = 0;
    // Sends one well-formed move for `chair`, built from the input; returns the Errno.
    virtual codec::Errno move(game::Chair chair, Bytes& in) = 0;
    // The chair whose turn it is (any chair when there is no turn).
    virtual game::Chair current() const = 0;
    // Everything a refused message must leave as it was.
    virtual std::string state() const = 0;
    // Checks one message the logic sent, in order.
    virtual void sent(const tb::test::SentMessage& m) = 0;
    // Checks the table after an operation.
    virtual void check_table() = 0;
};

class Gomoku final : public Kind {
public:
    explicit Gomoku(Frame& f) : frame_(f), logic_(config()) {}

    game::TableLogic& logic() override { return logic_; }

    codec::Errno move(game::Chair chair, Bytes& in) override {
        const uint8_t what = in.next();
        if (what % 8 == 7) {
            return logic_.on_message(chair, codec::kMsgGomokuResign, codec::encode(codec::Empty{}));
        }
        // -1..15 on both axes: the board and one step off each edge.
        codec::gomoku::PlaceStone p{in.next() % 17 - 1, in.next() % 17 - 1};
        return logic_.on_message(chair, p.kType, codec::encode(p));
    }

    game::Chair current() const override { return logic_.current_chair(); }

    std::string state() const override {
        std::string s(logic_.board().cells().begin(), logic_.board().cells().end());
        s += static_cast<char>(logic_.current_chair());
        s += static_cast<char>(logic_.playing());
        s += static_cast<char>(logic_.winner());
        s += logic_.reason();
        for (game::Chair c = 0; c < 2; ++c) {
            s += static_cast<char>(logic_.trustee(c));
            s += static_cast<char>(logic_.consecutive_timeouts(c));
        }
        return s;
    }

    void sent(const tb::test::SentMessage& m) override {
        namespace msg = codec::gomoku;
        switch (m.type) {
            case msg::BroadcastStart::kType:
                check(decodes<msg::BroadcastStart>(m.body), "BroadcastStart");
                stones_.clear();
                break;
            case msg::BroadcastPlaceStone::kType: {
                msg::BroadcastPlaceStone b;
                check(codec::decode(m.body, b) == codec::MsgError::kOk, "BroadcastPlaceStone");
                check(gm::Board::inside(b.position_x, b.position_y), "a stone off the board");
                check(stones_.insert({b.position_x, b.position_y, b.chair_id}).second,
                      "a stone placed twice");
                break;
            }
            case msg::BroadcastConclude::kType:
                check(decodes<msg::BroadcastConclude>(m.body), "BroadcastConclude");
                break;
            case msg::NotifyScene::kType: {
                msg::NotifyScene s;
                check(codec::decode(m.body, s) == codec::MsgError::kOk, "NotifyScene");
                check(s.board.empty() || s.board.size() == gm::kCells, "scene board size");
                break;
            }
            default: fail("gomoku sent a message of an unknown type");
        }
    }

    void check_table() override {
        const gm::Board& b = logic_.board();
        if (!logic_.playing() && !frame_.settling) return;
        check(b.stones() == static_cast<int>(stones_.size()), "board and broadcasts disagree");
        for (const auto& [x, y, chair] : stones_) {
            check(b.at(x, y) == chair + 1, "a broadcast stone is not on the board");
        }
        if (logic_.playing()) check(current() == 0 || current() == 1, "current chair");
    }

private:
    static gm::GomokuConfig config() {
        gm::GomokuConfig c;
        c.move_timeout = milliseconds(15000);
        c.grace = milliseconds(2000);
        c.abandon_after = milliseconds(60000);
        return c;
    }

    Frame& frame_;
    gm::GomokuLogic logic_;
    std::set<std::array<int, 3>> stones_;
};

class Landlords final : public Kind {
public:
    Landlords(Frame& f, int32_t max_multiple) : frame_(f), logic_(config(max_multiple)) {
        max_multiple_ = config(max_multiple).max_multiple;
    }

    game::TableLogic& logic() override { return logic_; }

    codec::Errno move(game::Chair chair, Bytes& in) override {
        namespace msg = codec::landlords;
        const uint8_t what = in.next();
        switch (what % 8) {
            case 0:
            case 1: {
                const msg::CallScore c{static_cast<int32_t>(in.next() % 6) - 1};
                return logic_.on_message(chair, c.kType, codec::encode(c));
            }
            case 2: return logic_.on_message(chair, codec::kMsgLandlordsPass, "");
            case 3: {
                const msg::Trustee t{(in.next() & 1) != 0};
                return logic_.on_message(chair, t.kType, codec::encode(t));
            }
            default: {
                // Cards picked from the hand by a 24-bit mask; bit 7 of the first mask byte
                // adds one card id of the input's choice (another's card, a duplicate, junk).
                msg::PlayCards p;
                const auto& hand = logic_.playing() ? logic_.hand(chair) : empty_;
                const uint32_t mask =
                    uint32_t{in.next()} | uint32_t{in.next()} << 8 | uint32_t{in.next()} << 16;
                for (std::size_t i = 0; i < hand.size() && i < 24; ++i) {
                    if ((mask >> i) & 1u) p.cards.push_back(hand[i]);
                }
                if ((mask & 0x80u) != 0) p.cards.push_back(static_cast<int8_t>(in.next()));
                const uint8_t type = in.next() % 16;
                if (type < ll::kPlayTypes) {
                    p.type = std::string(ll::type_name(static_cast<ll::PlayType>(type)));
                } else if (type == 15) {
                    p.type = "no_such_type";
                }
                return logic_.on_message(chair, p.kType, codec::encode(p));
            }
        }
    }

    game::Chair current() const override { return logic_.current(); }

    std::string state() const override {
        std::string s;
        s += static_cast<char>(logic_.phase());
        s += static_cast<char>(logic_.current());
        s += static_cast<char>(logic_.landlord());
        s += static_cast<char>(logic_.bid());
        s += std::to_string(logic_.multiple()) + "/" + std::to_string(logic_.deals()) + "/";
        for (game::Chair c = 0; c < 3; ++c) {
            for (const int32_t id : logic_.hand(c)) s += static_cast<char>(id);
            s += '|';
            s += static_cast<char>(logic_.trustee(c));
        }
        for (const int32_t id : logic_.bottom()) s += static_cast<char>(id);
        if (const auto last = logic_.last_play()) {
            s += static_cast<char>(last->type);
            s += static_cast<char>(last->main);
            s += static_cast<char>(last->count);
        }
        s += static_cast<char>(logic_.leading());
        return s;
    }

    void sent(const tb::test::SentMessage& m) override {
        namespace msg = codec::landlords;
        switch (m.type) {
            case msg::NotifyDeal::kType:
                check(decodes<msg::NotifyDeal>(m.body), "NotifyDeal");
                played_.clear();
                break;
            case msg::BroadcastPlay::kType: {
                msg::BroadcastPlay b;
                check(codec::decode(m.body, b) == codec::MsgError::kOk, "BroadcastPlay");
                check(!b.cards.empty(), "an empty play");
                check(ll::type_from_name(b.type).has_value(), "a play of no known type");
                for (const int32_t id : b.cards) {
                    check(id >= 0 && id < ll::kCards, "a card id out of range played");
                    check(played_.insert(id).second, "a card played twice");
                }
                check(b.multiple >= 1 && b.multiple <= max_multiple_, "multiple out of range");
                break;
            }
            case msg::NotifyScene::kType: {
                msg::NotifyScene s;
                check(codec::decode(m.body, s) == codec::MsgError::kOk, "NotifyScene");
                check(s.cards_left.size() == 3 && s.trustee.size() == 3, "scene sizes");
                break;
            }
            case msg::BroadcastCallScore::kType:
                check(decodes<msg::BroadcastCallScore>(m.body), "BroadcastCallScore");
                break;
            case msg::BroadcastLandlord::kType:
                check(decodes<msg::BroadcastLandlord>(m.body), "BroadcastLandlord");
                break;
            case msg::BroadcastPass::kType:
                check(decodes<msg::BroadcastPass>(m.body), "BroadcastPass");
                break;
            case msg::BroadcastConclude::kType:
                check(decodes<msg::BroadcastConclude>(m.body), "BroadcastConclude");
                break;
            case msg::BroadcastTrustee::kType:
                check(decodes<msg::BroadcastTrustee>(m.body), "BroadcastTrustee");
                break;
            case codec::kMsgLandlordsBroadcastRedeal:
                check(decodes<codec::Empty>(m.body), "BroadcastRedeal");
                break;
            default: fail("landlords sent a message of an unknown type");
        }
    }

    void check_table() override {
        using Phase = ll::LandlordsLogic::Phase;
        const Phase phase = logic_.phase();
        if (phase == Phase::kWaiting) return;
        std::set<int32_t> all(played_.begin(), played_.end());
        std::size_t n = played_.size();
        for (game::Chair c = 0; c < 3; ++c) {
            const auto& h = logic_.hand(c);
            check(std::is_sorted(h.begin(), h.end()), "a hand is not sorted");
            const std::size_t cap = c == logic_.landlord() ? 20 : 17;
            check(h.size() <= cap, "a hand holds too many cards");
            all.insert(h.begin(), h.end());
            n += h.size();
        }
        if (phase == Phase::kBidding) {
            all.insert(logic_.bottom().begin(), logic_.bottom().end());
            n += logic_.bottom().size();
        } else {
            check(logic_.landlord() >= 0 && logic_.landlord() < 3, "no landlord in play");
            check(logic_.bid() >= 1 && logic_.bid() <= 3, "bid out of range");
        }
        check(n == ll::kCards && all.size() == ll::kCards, "the 54 cards are not all there once");
        check(logic_.multiple() >= 1 && logic_.multiple() <= max_multiple_, "multiple range");
        if (phase == Phase::kPlaying) {
            check(logic_.current() >= 0 && logic_.current() < 3, "current chair");
        }
        if (phase == Phase::kConcluded && !concluded_seen_) {
            concluded_seen_ = true;
            bool someone_out = false;
            for (game::Chair c = 0; c < 3; ++c) someone_out |= logic_.hand(c).empty();
            check(someone_out, "a round ended with cards in every hand");
            check(!frame_.concluded.empty(), "concluded without a settlement");
            const auto& out = frame_.concluded.back();
            check(out.transfers.size() == 2, "a Dou Dizhu round settles with two transfers");
            const int64_t unit = frame_.base * logic_.bid() * logic_.multiple();
            for (const auto& t : out.transfers) check(t.amount == unit, "settlement unit");
        }
        if (phase != Phase::kConcluded) concluded_seen_ = false;
    }

private:
    static ll::LandlordsConfig config(int32_t max_multiple) {
        ll::LandlordsConfig c;
        c.bid_timeout = milliseconds(15000);
        c.play_timeout = milliseconds(20000);
        c.grace = milliseconds(2000);
        c.max_multiple = std::max(1, max_multiple);
        return c;
    }

    Frame& frame_;
    ll::LandlordsLogic logic_;
    int32_t max_multiple_ = 1;
    std::set<int32_t> played_;
    bool concluded_seen_ = false;
    const std::vector<int32_t> empty_;
};

class Harness {
public:
    explicit Harness(Bytes& in) : in_(in) {
        const uint8_t setup = in.next();
        const bool landlords = (setup & 1) != 0;
        frame_ = std::make_unique<Frame>(landlords ? 3 : 2);
        for (std::size_t c = 0; c < frame_->seats.size(); ++c) {
            frame_->seats[c].robot = ((setup >> (1 + c)) & 1) != 0;
        }
        if (landlords) {
            kind_ = std::make_unique<Landlords>(*frame_, 1 << (setup >> 5));
        } else {
            kind_ = std::make_unique<Gomoku>(*frame_);
        }
        frame_->logic = &kind_->logic();
        // The logic's own generator (gomoku's robot), then the deal's seed and first player.
        frame_->randoms = {in.next(), in.next(), in.next()};
        kind_->logic().init(*frame_);
    }

    void run() {
        while (!in_.done()) {
            step(in_.next());
            drain();
            kind_->check_table();
        }
    }

private:
    game::Chair chair_of(uint8_t b) const {
        return static_cast<game::Chair>(b % frame_->seats.size());
    }
    bool can_send(game::Chair c) const {
        const game::SeatView& s = frame_->seats[static_cast<std::size_t>(c)];
        return !s.robot && !s.offline;
    }

    // A table message through the frame: refused while settling, else to the logic, and a
    // refusal must change nothing.
    void message(game::Chair chair, uint32_t type, std::string_view body) {
        if (!can_send(chair) || frame_->settling) return;
        send_checked(chair, [&] { return kind_->logic().on_message(chair, type, body); });
    }
    template <class Send>
    void send_checked(game::Chair chair, Send send) {
        if (!can_send(chair) || frame_->settling) return;
        drain();
        const std::string before = kind_->state();
        const auto timers = frame_->timer_state();
        const std::size_t concluded = frame_->concluded.size();
        if (send() == codec::Errno::kOk) return;
        check(frame_->sent.empty(), "a refused message sent something");
        check(kind_->state() == before, "a refused message changed the table");
        check(frame_->timer_state() == timers, "a refused message moved a timer");
        check(frame_->concluded.size() == concluded, "a refused message ended the round");
    }

    void step(uint8_t op) {
        game::TableLogic& logic = kind_->logic();
        switch (op % 10) {
            case 0: {  // a raw table message
                const game::Chair chair = chair_of(in_.next());
                const uint32_t type = codec::msg_type(codec::kMcmdGame, in_.next() % 8);
                const std::string body(in_.take(in_.next() % 64));
                message(chair, type, body);
                break;
            }
            case 1: {  // a well-formed move, by the player on turn or (bit 7) another
                const uint8_t who = in_.next();
                const game::Chair chair = (who & 0x80) != 0 ? chair_of(who) : kind_->current();
                if (chair < 0) break;
                send_checked(chair, [&] { return kind_->move(chair, in_); });
                break;
            }
            case 2:  // the clock moves on, up to 25.5 s: past a turn's clock and grace, or
                     // some 36 robot moves (each robot move costs a strategy search)
                frame_->advance(milliseconds(int64_t{in_.next()} * 100));
                break;
            case 3: {  // a session closes during a round (between rounds: seat changes hands)
                const game::Chair c = chair_of(in_.next());
                auto& s = frame_->seats[static_cast<std::size_t>(c)];
                if (s.robot || s.offline) break;
                if (!logic.playing() && !frame_->settling) {
                    replace(c);
                    break;
                }
                s.offline = true;
                logic.on_offline(c);
                break;
            }
            case 4: {  // a return (FastLogin of the seated user)
                const game::Chair c = chair_of(in_.next());
                auto& s = frame_->seats[static_cast<std::size_t>(c)];
                if (s.robot) break;
                s.offline = false;
                logic.on_reconnect(c);
                break;
            }
            case 5:  // every chair ready: the round starts
                if (logic.playing() || frame_->settling) break;
                logic.on_start();
                break;
            case 6:  // the db node confirms the settlement
                if (!frame_->settling) break;
                confirm();
                break;
            case 7:  // the node is stopped hard: rounds end unsettled
                if (!logic.playing() && !frame_->settling) break;
                frame_->settling = false;
                frame_->kill_all();
                logic.on_abort();
                check(!logic.playing(), "still playing after abort");
                break;
            case 8:  // a seat changes hands between rounds
                if (logic.playing() || frame_->settling) break;
                replace(chair_of(in_.next()));
                break;
            default: {  // an empty body to any (150,x)
                const game::Chair chair = chair_of(in_.next());
                message(chair, codec::msg_type(codec::kMcmdGame, in_.next() % 8),
                        codec::encode(codec::Empty{}));
                break;
            }
        }
    }

    // What the frame does once the db node confirmed: the amounts to the logic, then offline
    // players and robots leave and others sit down.
    void confirm() {
        const auto& out = frame_->concluded.back();
        std::vector<int64_t> scores(frame_->seats.size(), 0);
        for (const auto& t : out.transfers) {
            scores[static_cast<std::size_t>(t.from)] -= t.amount;
            scores[static_cast<std::size_t>(t.to)] += t.amount;
        }
        frame_->settling = false;
        kind_->logic().on_conclude(scores);
        for (game::Chair c = 0; c < static_cast<game::Chair>(frame_->seats.size()); ++c) {
            if (frame_->seats[static_cast<std::size_t>(c)].offline) replace(c);
        }
    }

    void replace(game::Chair c) {
        auto& s = frame_->seats[static_cast<std::size_t>(c)];
        kind_->logic().on_stand(c);
        s.user_id = next_user_++;
        s.offline = false;
        kind_->logic().on_sit(c);
    }

    // Checks and forgets what the logic sent.
    void drain() {
        for (const auto& m : frame_->sent) {
            check(m.chair == tb::test::kToTable ||
                      (m.chair >= 0 && m.chair < static_cast<int>(frame_->seats.size())),
                  "a message to no chair");
            kind_->sent(m);
        }
        frame_->sent.clear();
    }

    Bytes& in_;
    std::unique_ptr<Frame> frame_;
    std::unique_ptr<Kind> kind_;
    int64_t next_user_ = 1000;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size > 4096) return 0;
    Bytes in(data, size);
    Harness h(in);
    h.run();
    return 0;
}
