CREATE TABLE "podline"."pools" (
	"name" text PRIMARY KEY NOT NULL,
	"slots" integer NOT NULL,
	"description" text,
	"claimed_slots" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pools_slots_check" CHECK (slots >= 0)
);
--> statement-breakpoint
DROP INDEX "podline"."task_runs_claim_version_idx";--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "pool" text;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "pool_slots" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX "task_runs_claim_pool_idx" ON "podline"."task_runs" USING btree ("pool","version","kind","priority" DESC NULLS LAST,"available_at","id") WHERE state in ('queued', 'up_for_retry') and pool is not null;--> statement-breakpoint
CREATE INDEX "task_runs_pool_running_idx" ON "podline"."task_runs" USING btree ("pool") WHERE state = 'running' and pool is not null;--> statement-breakpoint
CREATE INDEX "task_runs_claim_version_idx" ON "podline"."task_runs" USING btree ("version","kind","priority" DESC NULLS LAST,"available_at","id") WHERE state in ('queued', 'up_for_retry') and pool is null;