-- The "Booking" table, with the seed's quoted camelCase column names so its own
-- queries work unchanged: SELECT * FROM "Booking" WHERE "bookingId" = 'TEST123';
CREATE TABLE IF NOT EXISTS "Booking" (
    "id"            BIGSERIAL PRIMARY KEY,
    "bookingId"     TEXT NOT NULL UNIQUE,
    "phone"         TEXT,
    "guestName"     TEXT,
    "status"        TEXT,
    "propertyName"  TEXT,
    "arrivalDate"   DATE,
    "departureDate" DATE,
    "numNights"     INTEGER,
    "totalPersons"  INTEGER,
    "totalCharges"  NUMERIC NOT NULL DEFAULT 0,
    "totalPayments" NUMERIC NOT NULL DEFAULT 0,
    "balance"       NUMERIC NOT NULL DEFAULT 0,
    "basePrice"     NUMERIC,
    "channel"       TEXT,
    "email"         TEXT,
    "apiReference"  TEXT,
    "notes"         TEXT,
    "modifiedDate"  TIMESTAMPTZ,
    "lastUpdatedBD" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "BDStatus"      TEXT NOT NULL DEFAULT 'synced',
    "charges"       JSONB NOT NULL DEFAULT '[]',
    "payments"      JSONB NOT NULL DEFAULT '[]',
    "messages"      JSONB NOT NULL DEFAULT '[]',
    "infoItems"     JSONB NOT NULL DEFAULT '[]',
    "raw"           JSONB,
    "createdAt"     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "Booking_arrivalDate_idx" ON "Booking" ("arrivalDate");
CREATE INDEX IF NOT EXISTS "Booking_modifiedDate_idx" ON "Booking" ("modifiedDate");
