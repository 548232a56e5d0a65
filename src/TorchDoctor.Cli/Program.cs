using TorchDoctor.Cli;

return new CliApp(new GuardedWriter(Console.Out, "standard output"), Console.Error, interactive: !Console.IsOutputRedirected).Run(args);
