#include "tools/play/session.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "codec/body.h"
#include "codec/messages.h"
#include "nodes/game/landlords/classify.h"

namespace tb::play {

namespace ll = game::landlords;
namespace gmsg = codec::gomoku;
namespace lmsg = codec::landlords;

namespace {

// A JSON body into a message struct (PROTOCOL.md §2: missing fields are zero, unknown ones
// ignored), through the codec's one decoder.
template <class T>
bool decode_json(std::string_view body, T& out) {
    if (body.empty()) {
        out = T{};
        return true;
    }
    std::string packed;
    if (codec::json_to_msgpack(body, packed) != codec::BodyError::kOk) return false;
    return codec::decode(packed, out) == codec::MsgError::kOk;
}

// The Errno of a body, 0 when it has none (or is not an object).
int32_t errno_of(std::string_view body, std::string* desc = nullptr) {
    codec::ErrorBody e;
    if (body.empty() || !decode_json(body, e)) return 0;
    if (desc != nullptr) *desc = e.err_desc;
    return e.err_no;
}

std::string signed_text(int64_t v) {
    return (v > 0 ? "+" : "") + std::to_string(v);
}

std::string status_text(int32_t status) {
    switch (status) {
        case codec::kUserStatusFree: return "free";
        case codec::kUserStatusReady: return "ready";
        case codec::kUserStatusPlaying: return "playing";
        case codec::kUserStatusOffline: return "offline";
        default: return "status " + std::to_string(status);
    }
}

std::optional<Game> game_of_type(int32_t game_type) {
    if (game_type == codec::kGameTypeGomoku) return Game::kGomoku;
    if (game_type == codec::kGameTypeLandlords) return Game::kLandlords;
    return std::nullopt;
}

// Login refusals that trying again cannot fix.
bool login_fatal(int32_t err_no) {
    using codec::Errno;
    for (const Errno e : {Errno::kMalformed, Errno::kWrongPassword, Errno::kTooManyFailures,
                          Errno::kInvalidField, Errno::kTicketInvalid, Errno::kKicked}) {
        if (err_no == codec::to_int(e)) return true;
    }
    return false;
}

}  // namespace

Session::Session(PlayOptions options, std::ostream& out, std::ostream* json_log)
    : opt_(std::move(options)), out_(out), json_log_(json_log), game_(opt_.game) {}

Clock::duration Session::backoff(int attempt) noexcept {
    const int shift = std::clamp(attempt, 0, 4);
    return std::chrono::milliseconds(500) * (1 << shift);
}

// ---------------------------------------------------------------------------------------------
// Output

void Session::print(std::string_view text) {
    out_ << text;
    if (!text.empty() && text.back() != '\n') out_ << '\n';
}

void Session::log_frame(std::string_view dir, uint16_t mcmd, uint16_t scmd, std::string_view body) {
    if (json_log_ == nullptr) return;
    nlohmann::json line;
    line["ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    line["dir"] = dir;
    line["mcmd"] = mcmd;
    line["scmd"] = scmd;
    nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (body.empty()) {
        parsed = nullptr;
    } else if (parsed.is_discarded()) {
        parsed = std::string(body);
    }
    // A device account's Machine is its only credential; neither it nor a password is logged.
    if (parsed.is_object()) {
        for (const char* secret : {"Password", "Machine"}) {
            if (parsed.contains(secret)) parsed[secret] = "***";
        }
    }
    line["body"] = std::move(parsed);
    *json_log_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    json_log_->flush();
}

void Session::send_frame(uint32_t type, const std::string& json_body) {
    if (stage_ == Stage::kOffline) return;
    const uint16_t mcmd = codec::mcmd_of(type);
    const uint16_t scmd = codec::scmd_of(type);
    if (!codec::encode_frame(output_, codec::Magic::kJson, mcmd, scmd, json_body)) return;
    log_frame("out", mcmd, scmd, json_body);
}

template <class T>
void Session::send(const T& msg) {
    std::string json;
    if (codec::msgpack_to_json(codec::encode(msg), json) != codec::BodyError::kOk) return;
    send_frame(T::kType, json);
}

void Session::send_empty(uint32_t type) {
    send_frame(type, "");
}

std::string Session::take_output() {
    std::string out;
    out.swap(output_);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Connection

void Session::on_connected(Clock::time_point) {
    stage_ = Stage::kRegistering;
    reconnect_ = false;
    output_.clear();
    print(std::string(ever_logged_in_ ? "Reconnected" : "Connected") + " to " + opt_.proxy +
          ", logging in as " + opt_.account);
    codec::FastRegisterRequest r;
    r.account = opt_.account;
    r.password = opt_.password;
    r.machine = opt_.machine;
    r.name = opt_.account;
    r.icon = 1;
    r.gender = 3;  // unknown
    send(r);
}

void Session::on_disconnected(std::string_view why, Clock::time_point now) {
    const bool was_connected = stage_ != Stage::kOffline;
    stage_ = Stage::kOffline;
    reconnect_ = false;
    output_.clear();
    join_retry_at_.reset();
    if (finished_) return;
    const auto wait = backoff(connect_attempts_++);
    next_connect_at_ = now + wait;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
    print(std::string(was_connected ? "Connection lost (" : "Cannot connect (") + std::string(why) +
          "); " + (was_connected ? "reconnecting" : "trying again") + " in " +
          std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s");
}

void Session::fast_login(int32_t game_id, Clock::time_point) {
    codec::FastLoginRequest r;
    r.game_id = game_id;
    r.game_type = game_type_of(game_);
    r.game_level = opt_.level;
    stage_ = Stage::kJoining;
    join_retry_at_.reset();
    send(r);
}

void Session::new_table() {
    table_ = TableInfo{};
    gomoku_.reset();
    landlords_.reset();
    warned_deadline_.reset();
}

void Session::fail(std::string_view why) {
    print(why);
    finished_ = true;
    exit_code_ = 1;
}

void Session::quit(std::string_view why) {
    if (finished_) return;
    const bool seated = stage_ == Stage::kSeated;
    // Logout stands us up; a running game keeps the seat and is played for until it ends.
    if (seated) send_empty(codec::kMsgLogout);
    print(std::string(why) + (seated ? "Leaving the table. Bye." : "Bye."));
    finished_ = true;
    exit_code_ = 0;
}

void Session::on_end_of_input(Clock::time_point) {
    quit("End of input. ");
}

void Session::on_signal(Clock::time_point) {
    quit("Interrupted. ");
}

void Session::on_tick(Clock::time_point now) {
    if (finished_) return;
    if (stage_ == Stage::kLobby && join_retry_at_ && now >= *join_retry_at_) {
        fast_login(0, now);
        return;
    }
    if (stage_ != Stage::kSeated || table_.my_chair < 0) return;
    std::optional<Clock::time_point> deadline;
    int32_t current = -1;
    if (game_ == Game::kGomoku) {
        deadline = gomoku_.deadline();
        current = gomoku_.current();
    } else {
        deadline = landlords_.deadline();
        current = landlords_.current();
    }
    if (!deadline || current != table_.my_chair || warned_deadline_ == deadline) return;
    const int64_t left = seconds_left(*deadline, now);
    if (left <= 5) {
        warned_deadline_ = deadline;
        print(left > 0 ? std::to_string(left) + " s left on your clock!"
                       : "Your clock has run out: the server moves for you");
    }
}

// ---------------------------------------------------------------------------------------------
// Frames

void Session::on_frame(const codec::Frame& f, Clock::time_point now) {
    log_frame("in", f.mcmd, f.scmd, f.body);
    if (f.is_keep_alive()) {
        // The server probes, we answer; it never answers ours (PROTOCOL.md §3).
        if (stage_ != Stage::kOffline) {
            output_ += codec::keep_alive_frame(codec::Magic::kJson);
            log_frame("out", 0, 0, "");
        }
        return;
    }
    if (finished_) return;
    const uint32_t type = codec::msg_type(f.mcmd, f.scmd);
    if (type == codec::kMsgNotifyKick) {
        codec::NotifyKick k;
        decode_json(f.body, k);
        fail("Kicked by the server: " + errno_message(k.err_no) +
             (k.err_desc.empty() ? "" : " (" + k.err_desc + ")") + ". Not reconnecting.");
        return;
    }
    if (type == codec::kMsgNotice) {
        codec::Notice n;
        if (decode_json(f.body, n)) {
            print(std::string(n.level >= 2   ? "[URGENT] "
                              : n.level == 1 ? "[warning] "
                                             : "[notice] ") +
                  n.text);
        }
        return;
    }
    std::string desc;
    const int32_t err_no = errno_of(f.body, &desc);
    if (type == codec::kMsgFastRegister) return on_register_reply(f.body, err_no, now);
    if (type == codec::kMsgFastLogin) return on_fast_login_reply(f.body, err_no, now);
    if (f.mcmd == codec::kMcmdRoom) return on_room_frame(type, f.body, err_no, now);
    if (f.mcmd == codec::kMcmdGame) {
        // Client commands are 1..4 and come back only as error replies; the server's own
        // messages are 101 and up.
        if (f.scmd < 100) {
            if (err_no != 0) on_refusal(type, desc, err_no);
            return;
        }
        if (stage_ != Stage::kSeated) return;
        if (game_ == Game::kGomoku) {
            on_gomoku_frame(type, f.body, now);
        } else {
            on_landlords_frame(type, f.body, now);
        }
        return;
    }
    if (err_no != 0) {
        print(
            refusal_text("Request (" + std::to_string(f.mcmd) + "," + std::to_string(f.scmd) + ")",
                         err_no, desc));
    }
    // Anything else is a message this client does not know: ignored, as the protocol asks.
}

void Session::on_register_reply(const std::string& body, int32_t err_no, Clock::time_point now) {
    if (stage_ != Stage::kRegistering) return;
    if (err_no != 0) {
        std::string desc;
        errno_of(body, &desc);
        const std::string text = refusal_text("Login", err_no, desc);
        if (login_fatal(err_no)) {
            fail(text);
        } else {
            print(text + "; trying again");
            reconnect_ = true;
        }
        return;
    }
    codec::FastRegisterReply r;
    if (!decode_json(body, r)) {
        print("Login reply unreadable; trying again");
        reconnect_ = true;
        return;
    }
    user_id_ = r.user_id;
    score_ = r.user_score;
    ever_logged_in_ = true;
    print("Logged in as " + r.user_name + " (UserID " + std::to_string(r.user_id) + "), score " +
          std::to_string(r.user_score));
    in_other_game_hops_ = 0;
    if (r.game_id != 0) {
        // Still seated (a dropped connection, or an earlier run): go back to that game.
        if (const auto g = game_of_type(r.game_type)) game_ = *g;
        print("You are still seated in a " + std::string(game_name(game_)) + " game (GameID " +
              std::to_string(r.game_id) + "): returning to it");
        fast_login(r.game_id, now);
    } else {
        game_ = opt_.game;
        print("Joining a " + std::string(game_name(game_)) + " table, level " +
              std::to_string(opt_.level));
        fast_login(0, now);
    }
}

void Session::on_fast_login_reply(const std::string& body, int32_t err_no, Clock::time_point now) {
    if (stage_ != Stage::kJoining) return;
    if (err_no == codec::to_int(codec::Errno::kInAnotherGame)) {
        codec::InAnotherGameError e;
        if (decode_json(body, e) && e.game_id != 0 && in_other_game_hops_ < 3) {
            ++in_other_game_hops_;
            if (const auto g = game_of_type(e.game_type)) game_ = *g;
            print("You are seated in another " + std::string(game_name(game_)) + " game (GameID " +
                  std::to_string(e.game_id) + "): returning to it");
            fast_login(e.game_id, now);
            return;
        }
    }
    if (err_no == codec::to_int(codec::Errno::kNotEnoughScore)) {
        fail(refusal_text("Joining a table", err_no, "") + ": level " + std::to_string(opt_.level) +
             " needs more score; try a lower --level");
        return;
    }
    if (err_no != 0) {
        std::string desc;
        errno_of(body, &desc);
        const auto wait = backoff(join_attempts_++);
        const auto s = std::chrono::duration_cast<std::chrono::seconds>(wait).count();
        print(refusal_text("Joining a table", err_no, desc) + "; trying again in " +
              std::to_string(std::max<int64_t>(1, s)) + " s");
        stage_ = Stage::kLobby;
        game_ = opt_.game;
        join_retry_at_ = now + wait;
        return;
    }
    codec::FastLoginReply r;
    decode_json(body, r);
    join_attempts_ = 0;
    connect_attempts_ = 0;
    in_other_game_hops_ = 0;
    stage_ = Stage::kSeated;
    game_id_ = r.game_id;
    if (const auto g = game_of_type(r.game_type)) game_ = *g;
    new_table();
    table_.table_id = r.table_id;
    table_.my_chair = r.chair_id;
    print("Seated: " + std::string(game_name(game_)) + " level " + std::to_string(r.game_level) +
          ", table " + std::to_string(r.table_id) + ", chair " + std::to_string(r.chair_id) +
          " (game server " + std::to_string(r.game_id) + "). Type 'help' for the commands.");
}

void Session::on_room_frame(uint32_t type, const std::string& body, int32_t err_no,
                            Clock::time_point now) {
    switch (type) {
        case codec::kMsgNotifySitDown: {
            codec::NotifySitDown m;
            if (!decode_json(body, m) || stage_ != Stage::kSeated) return;
            SeatInfo& s = table_.seats[m.chair_id];
            const bool known = s.user_id == m.user_id;
            s = SeatInfo{m.user_id, m.user_name, m.user_status, m.user_score};
            if (m.user_id == user_id_) {
                table_.table_id = m.table_id;
                table_.my_chair = m.chair_id;
                score_ = m.user_score;
                // Every client sends Ready on its own NotifySitDown (PROTOCOL.md, legacy
                // behaviour); during a running game the server ignores it.
                send_empty(codec::kMsgReady);
            } else if (!known) {
                print(m.user_name + " sits down at chair " + std::to_string(m.chair_id) +
                      " (score " + std::to_string(m.user_score) + ", " +
                      status_text(m.user_status) + ")");
            }
            return;
        }
        case codec::kMsgNotifyStandUp: {
            codec::NotifyStandUp m;
            if (!decode_json(body, m) || stage_ != Stage::kSeated) return;
            if (m.chair_id == table_.my_chair) {
                print("You stood up");
                table_.my_chair = -1;
            } else {
                print(table_.name_of(m.chair_id) + " stands up");
            }
            table_.seats.erase(m.chair_id);
            return;
        }
        case codec::kMsgNotifyStatus: {
            codec::NotifyStatus m;
            if (!decode_json(body, m) || stage_ != Stage::kSeated) return;
            SeatInfo& s = table_.seats[m.chair_id];
            const int32_t old = s.status;
            s.status = m.user_status;
            if (m.chair_id == table_.my_chair) {
                if (m.user_status == codec::kUserStatusFree && old != codec::kUserStatusFree) {
                    print("Ready for the next game (type 'quit' to leave)");
                    send_empty(codec::kMsgReady);
                }
            } else if (old != m.user_status && m.user_status != codec::kUserStatusPlaying) {
                print(table_.name_of(m.chair_id) + " is " + status_text(m.user_status));
            }
            return;
        }
        case codec::kMsgNotifyTreasure: {
            codec::NotifyTreasure m;
            if (!decode_json(body, m) || m.user_id != user_id_) return;
            score_ += m.var_score;
            std::string why = m.change_type == codec::kChangeTypeWinLose    ? "game result"
                              : m.change_type == codec::kChangeTypeRegister ? "welcome"
                              : m.change_type == codec::kChangeTypeSignIn   ? "sign-in"
                                                                            : "top-up";
            print("Your score: " + signed_text(m.var_score) + " (" + why + "), now " +
                  std::to_string(score_));
            return;
        }
        case codec::kMsgNotifyGameLost: {
            codec::NotifyGameLost m;
            decode_json(body, m);
            print("The game server (GameID " + std::to_string(m.game_id) +
                  ") is gone: joining another table");
            new_table();
            game_ = opt_.game;
            fast_login(0, now);
            return;
        }
        default: {
            std::string desc;
            errno_of(body, &desc);
            if (err_no != 0) on_refusal(type, desc, err_no);
            return;
        }
    }
}

void Session::on_refusal(uint32_t type, const std::string& desc, int32_t err_no) {
    std::string what = "Request";
    if (type == codec::kMsgReady) what = "Ready";
    if (type == codec::kMsgLogout) what = "Leaving";
    if (game_ == Game::kGomoku) {
        if (type == codec::kMsgGomokuPlaceStone) what = "Move";
        if (type == codec::kMsgGomokuResign) what = "Resign";
    } else {
        if (type == codec::kMsgLandlordsCallScore) what = "Bid";
        if (type == codec::kMsgLandlordsPlayCards) what = "Play";
        if (type == codec::kMsgLandlordsPass) what = "Pass";
        if (type == codec::kMsgLandlordsTrustee) what = "Trustee";
    }
    print(refusal_text(what, err_no, desc));
}

void Session::on_gomoku_frame(uint32_t type, const std::string& body, Clock::time_point now) {
    switch (type) {
        case codec::kMsgGomokuNotifyScene: {
            gmsg::NotifyScene m;
            if (!decode_json(body, m)) return;
            gomoku_.on_scene(m, now);
            print(gomoku_.render(table_, now));
            return;
        }
        case codec::kMsgGomokuBroadcastStart: {
            gmsg::BroadcastStart m;
            if (!decode_json(body, m)) return;
            gomoku_.on_start(m, now);
            print(std::string("Game starts: ") + table_.name_of(m.chair_id) + " (" +
                  GomokuView::stone_of(m.chair_id) + ") move" +
                  (m.chair_id == table_.my_chair ? "" : "s") + " first");
            print(gomoku_.render(table_, now));
            return;
        }
        case codec::kMsgGomokuBroadcastPlaceStone: {
            gmsg::BroadcastPlaceStone m;
            if (!decode_json(body, m)) return;
            gomoku_.on_place(m, now);
            print(gomoku_.render(table_, now));
            return;
        }
        case codec::kMsgGomokuBroadcastConclude: {
            gmsg::BroadcastConclude m;
            if (!decode_json(body, m)) return;
            gomoku_.on_conclude(m);
            print(GomokuView::conclusion(m, table_));
            return;
        }
        default: return;
    }
}

void Session::on_landlords_frame(uint32_t type, const std::string& body, Clock::time_point now) {
    ViewUpdate u;
    switch (type) {
        case codec::kMsgLandlordsNotifyScene: {
            lmsg::NotifyScene m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_scene(m, table_, now);
            u.redraw = true;
            break;
        }
        case codec::kMsgLandlordsNotifyDeal: {
            lmsg::NotifyDeal m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_deal(m, table_, now);
            break;
        }
        case codec::kMsgLandlordsBroadcastCallScore: {
            lmsg::BroadcastCallScore m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_call_score(m, table_, now);
            break;
        }
        case codec::kMsgLandlordsBroadcastLandlord: {
            lmsg::BroadcastLandlord m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_landlord(m, table_, now);
            break;
        }
        case codec::kMsgLandlordsBroadcastPlay: {
            lmsg::BroadcastPlay m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_play(m, table_, now);
            break;
        }
        case codec::kMsgLandlordsBroadcastPass: {
            lmsg::BroadcastPass m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_pass(m, table_, now);
            break;
        }
        case codec::kMsgLandlordsBroadcastConclude: {
            lmsg::BroadcastConclude m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_conclude(m, table_);
            break;
        }
        case codec::kMsgLandlordsBroadcastTrustee: {
            lmsg::BroadcastTrustee m;
            if (!decode_json(body, m)) return;
            u = landlords_.on_trustee(m, table_);
            break;
        }
        case codec::kMsgLandlordsBroadcastRedeal: u = landlords_.on_redeal(); break;
        default: return;
    }
    if (!u.text.empty()) print(u.text);
    if (u.redraw) print(landlords_.render(table_, now));
}

// ---------------------------------------------------------------------------------------------
// Commands

void Session::on_line(std::string_view line, Clock::time_point now) {
    if (finished_) return;
    const ParsedCommand p = parse_command(game_, line);
    if (!p.command) {
        print(p.error + " (nothing sent)");
        return;
    }
    run_command(*p.command, now);
}

void Session::show(Clock::time_point now) {
    if (stage_ != Stage::kSeated) {
        print("Not at a table yet");
        return;
    }
    print(game_ == Game::kGomoku ? gomoku_.render(table_, now) : landlords_.render(table_, now));
}

void Session::run_command(const Command& c, Clock::time_point now) {
    switch (c.kind) {
        case CommandKind::kNothing: return;
        case CommandKind::kHelp: print(help_text(game_)); return;
        case CommandKind::kQuit: quit(""); return;
        case CommandKind::kShow: show(now); return;
        case CommandKind::kHint:
            if (stage_ != Stage::kSeated) {
                print("Not at a table yet");
            } else if (game_ == Game::kGomoku) {
                print(gomoku_.hint(table_.my_chair));
            } else {
                print(landlords_.hints(table_));
            }
            return;
        default: break;
    }
    // Everything else goes to the server, which needs us seated.
    if (stage_ != Stage::kSeated) {
        print(stage_ == Stage::kOffline ? "Not connected; reconnecting (nothing sent)"
                                        : "Not at a table yet (nothing sent)");
        return;
    }
    switch (c.kind) {
        case CommandKind::kReady: send_empty(codec::kMsgReady); return;
        case CommandKind::kPlace:
            if (!gomoku_.empty(c.x, c.y)) {
                print(cell_name(c.x, c.y) + " is taken: choose an empty cell (nothing sent)");
                return;
            }
            send(gmsg::PlaceStone{c.x, c.y});
            return;
        case CommandKind::kResign: send_empty(codec::kMsgGomokuResign); return;
        case CommandKind::kBid: send(lmsg::CallScore{c.score}); return;
        case CommandKind::kPass:
            // In bidding a pass is the bid 0; in play it is its own command.
            if (landlords_.phase() == LandlordsView::Phase::kBidding) {
                send(lmsg::CallScore{0});
            } else {
                send_empty(codec::kMsgLandlordsPass);
            }
            return;
        case CommandKind::kPlay: play_cards(c); return;
        case CommandKind::kTrustee: send(lmsg::Trustee{c.on}); return;
        default: return;
    }
}

void Session::play_cards(const Command& c) {
    const std::vector<int>& hand = landlords_.hand();
    const std::string cards = ll::to_notation(c.cards);
    const auto ids = ll::pick_cards(hand, c.cards);
    if (!ids) {
        print("You do not hold " + cards + "; your hand is " +
              (hand.empty() ? std::string("empty") : LandlordsView::notation_of(hand)) +
              " (nothing sent)");
        return;
    }
    const auto readings = ll::classify(c.cards);
    if (readings.empty()) {
        print(cards + " is not a play (nothing sent); '?' lists the legal ones");
        return;
    }
    if (!c.type.empty()) {
        const auto wanted = ll::type_from_name(c.type);
        std::string names;
        bool found = false;
        for (const ll::Play& p : readings) {
            if (wanted && p.type == *wanted) found = true;
            const std::string n(ll::type_name(p.type));
            if (names.find(n) == std::string::npos) names += (names.empty() ? "" : ", ") + n;
        }
        if (!found) {
            print(cards + " cannot be played as " + c.type + ", only as " + names +
                  " (nothing sent)");
            return;
        }
    }
    lmsg::PlayCards m;
    m.cards.assign(ids->begin(), ids->end());
    // Type only chooses the reading of a lead; a follow is read against the play it beats.
    if (landlords_.leading(table_.my_chair)) m.type = c.type;
    send(m);
}

}  // namespace tb::play
