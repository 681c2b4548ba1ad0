-- tablebus schema, migration 1. Applied by tb-db (--migrate, or at start when behind) inside
-- the configured database; schema_version records what has been applied.
CREATE TABLE IF NOT EXISTS accounts (
    user_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account VARCHAR(32) NOT NULL,
    password_hash VARBINARY(64) NULL,   -- PBKDF2-HMAC-SHA256; NULL for device accounts
    password_salt VARBINARY(32) NULL,
    password_iterations INT NOT NULL DEFAULT 0,
    machine VARCHAR(128) NOT NULL DEFAULT '',  -- the device a device account is bound to
    name VARCHAR(128) NOT NULL,
    icon INT NOT NULL DEFAULT 0,
    gender TINYINT NOT NULL DEFAULT 3,
    level INT NOT NULL DEFAULT 1,
    phone VARCHAR(32) NOT NULL DEFAULT '',
    robot TINYINT NOT NULL DEFAULT 0,
    register_ip VARCHAR(64) NOT NULL DEFAULT '',
    register_machine VARCHAR(128) NOT NULL DEFAULT '',
    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE KEY uk_account (account),
    KEY k_robot (robot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS treasure (
    user_id BIGINT NOT NULL PRIMARY KEY,
    score BIGINT NOT NULL,
    diamond BIGINT NOT NULL,
    CONSTRAINT ck_score CHECK (score >= 0),
    CONSTRAINT ck_diamond CHECK (diamond >= 0)
) ENGINE=InnoDB;

-- Every change of a balance, written in the same transaction as the change. The unique
-- (change_key, user_id) makes a repeated change (same round or request) a no-op.
CREATE TABLE IF NOT EXISTS treasure_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    change_type TINYINT NOT NULL,
    change_key VARCHAR(96) NOT NULL,
    score_before BIGINT NOT NULL,
    score_after BIGINT NOT NULL,
    diamond_before BIGINT NOT NULL,
    diamond_after BIGINT NOT NULL,
    created TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY uk_change (change_key, user_id),
    KEY k_user (user_id, id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS signin (
    user_id BIGINT NOT NULL PRIMARY KEY,
    last_day DATE NOT NULL,   -- calendar day (configured time zone) of the last sign-in
    streak INT NOT NULL       -- days in a row, 1..7 (the cycle restarts after 7)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS rounds (
    round_id VARCHAR(64) NOT NULL PRIMARY KEY,
    game VARCHAR(16) NOT NULL,
    level INT NOT NULL,
    node VARCHAR(64) NOT NULL,
    seats VARCHAR(255) NOT NULL,      -- user ids by chair, comma-separated
    seed VARCHAR(64) NOT NULL DEFAULT '',
    result TEXT NOT NULL,
    outcome TEXT NOT NULL,            -- the settled amounts "user:delta:score,..." (a repeat answers these)
    started TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    settled TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;
