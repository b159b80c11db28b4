"""What every dialogue shares, and the only place dialogues meet.

- `context`: the callback context (translator, database, clock, settings) and the language
  each update is answered in;
- `reply`: decisions as values (`Reply`, `OutgoingMessage`) and sending them (`say`,
  `deliver`);
- `prompt`: asking a check-in or reflection and storing its answers (the prompt service);
- `alerting`, `alert_text`: raising alerts to coordinators, and their words;
- `buttons`: keyboards, callback data, paging and the numbers buttons carry;
- `text`: clipping, names, labels, durations, dates and figures as each language writes them;
- `unusable`: the localized answer to input a step cannot use, and edited messages;
- `profile`, `topics`, `meeting_parse`, `meeting_record`, `goal_questions`, `menus`,
  `charts`: profile steps, meeting topics, the quick-log parser, how a meeting log reads,
  the per-goal check-in questions, command menus and report charts, each used by several
  dialogues;
- `actor`, `screens`, `program_picker`: who may do what in the coordinator commands, the
  screens they show, and the choice of one of a coordinator's programs;
- `joining`: handing over to onboarding (through `Services.joining`) and offering stray
  text to the dialogues that take it (`Services.text_takers`), both wired in bot/app.py;
- `introductions`: introducing a match, as /pair, onboarding's welcome and `tandem pair` do.

A module here imports storage, locales and other kit modules, never a dialogue.
"""
