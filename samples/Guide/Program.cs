using TorchDoctor.Guide;

// The samples of docs/guide.md, one per chapter: `dotnet run --project samples/Guide -- <chapter>`.
// Exit 0 when the sample showed what its chapter says (the doctor found the bug, and the fix is quiet), 1 otherwise.
return Chapters.Run(args, Console.Out);
