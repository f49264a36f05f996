CREATE TABLE "podline"."pool_parts" (
	"pool" text NOT NULL,
	"part" smallint NOT NULL,
	"claimed_slots" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "pool_parts_pool_part_pk" PRIMARY KEY("pool","part")
);
--> statement-breakpoint
DROP INDEX "podline"."task_runs_pool_running_idx";--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "pool_part" smallint;--> statement-breakpoint
ALTER TABLE "podline"."pool_parts" ADD CONSTRAINT "pool_parts_pool_pools_name_fk" FOREIGN KEY ("pool") REFERENCES "podline"."pools"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_runs_pool_running_idx" ON "podline"."task_runs" USING btree ("pool","pool_part") WHERE state = 'running' and pool is not null;--> statement-breakpoint
ALTER TABLE "podline"."pools" DROP COLUMN "claimed_slots";--> statement-breakpoint
-- The parts of the pools that exist, as queue/pool-slots.ts counts them for their slots today, and the
-- task runs running now in the first part of their pool.
INSERT INTO "podline"."pool_parts" ("pool", "part") SELECT "name", g FROM "podline"."pools", generate_series(0, greatest(1, least(8, "slots" / 256)) - 1) AS g;--> statement-breakpoint
UPDATE "podline"."task_runs" SET "pool_part" = 0 WHERE "pool" IS NOT NULL AND "state" = 'running';
