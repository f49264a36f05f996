ALTER TABLE "podline"."runs" ADD COLUMN "deadline_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "deadline_missed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "runs_deadline_idx" ON "podline"."runs" USING btree ("deadline_at") WHERE deadline_missed_at is null and state in ('queued', 'running');